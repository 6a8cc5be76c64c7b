// listUsers: lists the users of the cluster in KMU's table.
import { UserType } from "../../../clients/generated/localcloudhsm/v1/common";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { formatListUsers } from "../format/listUsers";
import { jsonNodes } from "../jsonView";
import { success } from "../outcome";

const HELP = helpText("Lists the users of the HSMs: id, type, name and failed logins.", ["listUsers -h", "listUsers"], []);

function typeName(type: UserType): string {
  return type === UserType.USER_TYPE_CO ? "CO" : "CU";
}

export const listUsers = defineCommand({
  name: "listUsers",
  summary: "Lists the HSM users",
  help: HELP,
  flags: {},
  needsLogin: true,
  check: () => ({}),
  async run(_params, ctx) {
    try {
      const res = await ctx.client.listUsers();
      const rows = res.users.map((u) => ({ userId: u.userId, userType: typeName(u.userType), username: u.username, loginFailureCount: u.loginFailureCount }));
      return success(formatListUsers(rows), {
        users: res.users.map((u) => ({
          user_id: u.userId,
          user_type: typeName(u.userType),
          username: u.username,
          login_failure_count: u.loginFailureCount,
          locked: u.locked,
        })),
        node_statuses: jsonNodes(res.nodeStatuses, false),
      });
    } catch (err) {
      return toFailure(err, "Cfm3ListUsers", ctx.address);
    }
  },
});
