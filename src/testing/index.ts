// Public entry of `local-cloudhsm/testing`: the in-process emulator for a project's own tests.
export { startEmulator } from "./startEmulator";
export type { Emulator, EmulatorOptions, EmulatorUser } from "./startEmulator";
export type { SettingsInput } from "../server/config";
