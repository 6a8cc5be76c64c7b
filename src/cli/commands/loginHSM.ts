// loginHSM / logoutHSM: open and close the crypto user's login session (session keys vanish at logout).
import { UserType } from "../../../clients/generated/localcloudhsm/v1/common";
import { RETURN_CODES, returnCodeText } from "../../../common/returnCodes";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { formatFailure } from "../format/failure";
import { formatStatusAndCluster } from "../format/statusAndCluster";
import { hexCode } from "../format/transcript";
import { jsonNodes } from "../jsonView";
import { Outcome, success } from "../outcome";

const LOGIN_HELP = helpText(
  "Logs in to the HSMs. Only crypto users (CU) can log in to key_mgmt_util.",
  ["loginHSM -h", "loginHSM -u CU -s <username> { -p <password> | -hpswd }"],
  [
    ["-u", "user type: CU (required)"],
    ["-s", "user name (required)"],
    ["-p", "password"],
    ["-hpswd", "ask for the password without echoing it"],
  ],
);

const LOGOUT_HELP = helpText("Logs out of the HSMs; the session's session keys are destroyed.", ["logoutHSM -h", "logoutHSM"], []);

/** User types CloudHSM knows; only CU may use key_mgmt_util. */
const OTHER_USER_TYPES = ["CO", "PCO", "AU", "PRECO"];

export const loginHSM = defineCommand({
  name: "loginHSM",
  summary: "Logs in as a crypto user",
  help: LOGIN_HELP,
  flags: {
    "-u": { kind: "value", required: true },
    "-s": { kind: "value", required: true },
    "-p": { kind: "value" },
    "-hpswd": { kind: "switch" },
  },
  needsLogin: false,
  check: (flags) => {
    const type = flags.required("-u").toUpperCase();
    if (type !== "CU" && !OTHER_USER_TYPES.includes(type)) throw new UsageError(`-u must be CU, got "${flags.required("-u")}"`);
    const password = flags.value("-p");
    const hidden = flags.has("-hpswd");
    if (password !== undefined && hidden) throw new UsageError("give either -p or -hpswd, not both");
    if (password === undefined && !hidden) throw new UsageError("-p <password> or -hpswd is required");
    return { crypto: type === "CU", username: flags.required("-s"), password };
  },
  async run(params, ctx): Promise<Outcome> {
    if (ctx.client.loggedIn) return { kind: "usage", message: `already logged in as user ${ctx.client.userId}; run logoutHSM first` };
    if (!params.crypto) {
      // KMU refuses other user types itself (0xdb), so no session of the wrong kind is ever opened.
      const code = RETURN_CODES.INVALID_USER_TYPE.code;
      return {
        kind: "failure",
        text: formatFailure({ step: "Cfm3LoginHSM", code, text: returnCodeText(code) }),
        errorCode: code,
        reason: "INVALID_USER_TYPE",
        message: "only crypto users (CU) can log in to key_mgmt_util",
        data: { step: "Cfm3LoginHSM", return_code: hexCode(code), description: returnCodeText(code) },
      };
    }
    const password = params.password ?? (await ctx.prompter.ask("Enter password: ", { hidden: true }));
    if (password === undefined) return { kind: "usage", message: "no password was entered" };
    try {
      const res = await ctx.client.loginHSM(params.username, password, UserType.USER_TYPE_CU);
      return success(formatStatusAndCluster("Cfm3LoginHSM", res.nodeStatuses), {
        user_id: res.userId,
        username: params.username,
        node_statuses: jsonNodes(res.nodeStatuses, false),
      });
    } catch (err) {
      return toFailure(err, "Cfm3LoginHSM", ctx.address);
    }
  },
});

export const logoutHSM = defineCommand({
  name: "logoutHSM",
  summary: "Logs out",
  help: LOGOUT_HELP,
  flags: {},
  needsLogin: true,
  check: () => ({}),
  async run(_params, ctx) {
    try {
      const res = await ctx.client.logoutHSM();
      return success(formatStatusAndCluster("Cfm3LogoutHSM", res.nodeStatuses), { node_statuses: jsonNodes(res.nodeStatuses, false) });
    } catch (err) {
      return toFailure(err, "Cfm3LogoutHSM", ctx.address);
    }
  },
});
