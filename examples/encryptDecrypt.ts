// README "Encrypt, decrypt and MAC" from TypeScript: AES-GCM with an HSM-made IV, and an HMAC made and checked.
import { CipherMechanism, HashAlgorithm, HsmClient, HsmClientError, KEY_TYPE } from "../clients";

const hsm = new HsmClient(process.env.LOCALCLOUDHSM_ADDRESS ?? "127.0.0.1:2225");
async function encryptDecrypt(): Promise<void> {
  await hsm.login("alice", "password1");
  const aes = (await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "data-key" })).keyHandle;
  const aad = Buffer.from("order-42");
  // GCM: the HSM makes the 12-byte IV; keep iv and tag with the ciphertext.
  const sealed = await hsm.encrypt(aes, Buffer.from("hello"), { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, aad });
  const opened = await hsm.decrypt(aes, sealed.ciphertext, { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, iv: sealed.iv, tag: sealed.tag, aad });
  console.log(`decrypted: ${opened.toString()}`);

  const hmacKey = (await hsm.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 32, label: "mac-key" })).keyHandle;
  const mac = await hsm.mac(hmacKey, Buffer.from("hello"), HashAlgorithm.HASH_ALGORITHM_SHA256);
  await hsm.verifyMac(hmacKey, Buffer.from("hello"), mac, HashAlgorithm.HASH_ALGORITHM_SHA256);
  try {
    await hsm.verifyMac(hmacKey, Buffer.from("hullo"), mac, HashAlgorithm.HASH_ALGORITHM_SHA256);
  } catch (err) {
    if (!(err instanceof HsmClientError)) throw err;
    console.log(`tampered data: ${err.reason}`); // SIGNATURE_INVALID
  }
  await hsm.logout();
}
encryptDecrypt()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => hsm.close());
