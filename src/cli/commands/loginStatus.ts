// loginStatus: says who this kmu session is logged in as, on which HSM, and until when if left unused.
import { UserType } from "../../../clients/generated/localcloudhsm/v1/common";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { formatLoginStatus } from "../format/infoBlocks";
import { success } from "../outcome";

const HELP = helpText(
  "Shows whether a user is logged in, and if so the user, its type, the HSM its session is on and when the\n" +
    "session expires if it stays unused.",
  ["loginStatus -h", "loginStatus"],
  [],
);

export const loginStatus = defineCommand({
  name: "loginStatus",
  summary: "Shows who is logged in",
  help: HELP,
  flags: {},
  needsLogin: true,
  check: () => ({}),
  async run(_params, ctx) {
    // In the shell before loginHSM there is no session to ask about: say so without a call.
    if (!ctx.client.loggedIn) return success(formatLoginStatus(undefined), { logged_in: false });
    try {
      const res = await ctx.client.loginStatus();
      const view = {
        userId: res.userId,
        username: res.username,
        userType: res.userType === UserType.USER_TYPE_CO ? "CO" : "CU",
        nodeId: res.nodeId,
        expiresAt: (res.expiresAt ?? new Date(0)).toISOString(),
      };
      return success(formatLoginStatus(view), {
        logged_in: true,
        user_id: view.userId,
        username: view.username,
        user_type: view.userType,
        node_id: view.nodeId,
        expires_at: view.expiresAt,
      });
    } catch (err) {
      return toFailure(err, "Cfm3GetLoginStatus", ctx.address);
    }
  },
});
