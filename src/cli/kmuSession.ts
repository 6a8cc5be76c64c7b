// What both modes share while kmu runs: the client, the prompter, where output goes, and how an outcome is printed.
import { KmuClient } from "../../clients/kmuClient";
import { CommandContext } from "./command";
import { Prompter } from "./lineInput";
import { Outcome } from "./outcome";
import { render, Streams } from "./render";

export class KmuSession implements CommandContext {
  constructor(
    readonly client: KmuClient,
    readonly prompter: Prompter,
    readonly address: string,
    readonly streams: Streams,
    readonly json: boolean,
  ) {}

  print(outcome: Outcome): void {
    render(outcome, this.streams, this.json);
  }

  /** Ends the login session if one is open, as leaving key_mgmt_util does; its session keys vanish. */
  async logoutQuietly(): Promise<void> {
    if (!this.client.loggedIn) return;
    try {
      await this.client.logoutHSM();
    } catch {
      // The daemon may be gone; the session then ends with it.
    }
  }
}
