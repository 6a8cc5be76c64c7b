// The README quickstart from TypeScript: log in, make a wrapping key, import aes256.key, read its KCV, find it.
import { HsmClient, KEY_TYPE } from "../clients";

const hsm = new HsmClient(process.env.LOCALCLOUDHSM_ADDRESS ?? "127.0.0.1:2225");
async function quickstart(): Promise<void> {
  await hsm.login("alice", "password1"); // loginHSM -u CU -s alice -p password1
  const wrappingKey = await hsm.createWrappingKey("ts-wrapping-key"); // genSymKey -t 31 -s 32 -l ts-wrapping-key
  const imported = await hsm.importSymKeyFile("aes256.key", { wrappingKey, keyType: KEY_TYPE.AES, label: "ts-imported" });
  console.log(`imported key ${imported.keyHandle}, KCV 0x${await hsm.kcv(imported.keyHandle)}`); // getAttribute -a 371
  console.log(`findKey -l ts-imported: ${(await hsm.findKey({ label: "ts-imported" })).join(", ")}`);
  await hsm.logout(); // logoutHSM
}
quickstart()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => hsm.close());
