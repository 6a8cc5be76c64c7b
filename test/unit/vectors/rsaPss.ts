// RSASSA-PSS verification vectors from RSA Laboratories' pss-vect.txt (PKCS #1 v2.1 test vectors, as RFC 8017's
// examples): SHA-1, MGF1-SHA-1, 20-byte salt. Public test data; hex with spaces as published.

export interface PssVector {
  readonly name: string;
  readonly modulus: string;
  readonly exponent: string;
  readonly message: string;
  readonly signature: string;
}

const MODULUS_1 = `a5 6e 4a 0e 70 10 17 58 9a 51 87 dc 7e a8 41 d1 56 f2 ec 0e 36 ad 52 a4 4d fe b1 e6 1f 7a d9 91
d8 c5 10 56 ff ed b1 62 b4 c0 f2 83 a1 2a 88 a3 94 df f5 26 ab 72 91 cb b3 07 ce ab fc e0 b1 df
d5 cd 95 08 09 6d 5b 2b 8b 6d f5 d6 71 ef 63 77 c0 92 1c b2 3c 27 0a 70 e2 59 8e 6f f8 9d 19 f1
05 ac c2 d3 f0 cb 35 f2 92 80 e1 38 6b 6f 64 c4 ef 22 e1 e1 f2 0d 0c e8 cf fb 22 49 bd 9a 21 37`;

const MODULUS_9 = `e6 bd 69 2a c9 66 45 79 04 03 fd d0 f5 be b8 b9 bf 92 ed 10 00 7f c3 65 04 64 19 dd 06 c0 5c 5b
5b 2f 48 ec f9 89 e4 ce 26 91 09 97 9c bb 40 b4 a0 ad 24 d2 24 83 d1 ee 31 5a d4 cc b1 53 42 68
35 26 91 c5 24 f6 dd 8e 6c 29 d2 24 cf 24 69 73 ae c8 6c 5b f6 b1 40 1a 85 0d 1b 9a d1 bb 8c bc
ec 47 b0 6f 0f 8c 7f 45 d3 fc 8f 31 92 99 c5 43 3d db c2 b3 05 3b 47 de d2 ec d4 a4 ca ef d6 14
83 3d c8 bb 62 2f 31 7e d0 76 b8 05 7f e8 de 3f 84 48 0a d5 e8 3e 4a 61 90 4a 4f 24 8f b3 97 02
73 57 e1 d3 0e 46 31 39 81 5c 6f d4 fd 5a c5 b8 17 2a 45 23 0e cb 63 18 a0 4f 14 55 d8 4e 5a 8b`;

export const PSS_VECTORS: readonly PssVector[] = [
  {
    name: "example 1.4 (1024-bit)",
    modulus: MODULUS_1,
    exponent: "01 00 01",
    message: "bc 65 67 47 fa 9e af b3 f0",
    signature: `46 09 79 3b 23 e9 d0 93 62 dc 21 bb 47 da 0b 4f 3a 76 22 64 9a 47 d4 64 01 9b 9a ea fe 53 35 9c
17 8c 91 cd 58 ba 6b cb 78 be 03 46 a7 bc 63 7f 4b 87 3d 4b ab 38 ee 66 1f 19 96 34 c5 47 a1 ad
84 42 e0 3d a0 15 b1 36 e5 43 f7 ab 07 c0 c1 3e 42 25 b8 de 8c ce 25 d4 f6 eb 84 00 f8 1f 7e 18
33 b7 ee 6e 33 4d 37 09 64 ca 79 fd b8 72 b4 d7 52 23 b5 ee b0 81 01 59 1f b5 32 d1 55 a6 de 87`,
  },
  {
    name: "example 9.2 (1536-bit)",
    modulus: MODULUS_9,
    exponent: "01 00 01",
    message: `c8 c9 c6 af 04 ac da 41 4d 22 7e f2 3e 08 20 c3 73 2c 50 0d c8 72 75 e9 5b 0d 09 54 13 99 3c 26
58 bc 1d 98 85 81 ba 87 9c 2d 20 1f 14 cb 88 ce d1 53 a0 19 69 a7 bf 0a 7b e7 9c 84 c1 48 6b c1
2b 3f a6 c5 98 71 b6 82 7c 8c e2 53 ca 5f ef a8 a8 c6 90 bf 32 6e 8e 37 cd b9 6d 90 a8 2e ba b6
9f 86 35 0e 18 22 e8 bd 53 6a 2e`,
    signature: `80 b6 d6 43 25 52 09 f0 a4 56 76 38 97 ac 9e d2 59 d4 59 b4 9c 28 87 e5 88 2e cb 44 34 cf d6 6d
d7 e1 69 93 75 38 1e 51 cd 7f 55 4f 2c 27 17 04 b3 99 d4 2b 4b e2 54 0a 0e ca 61 95 1f 55 26 7f
7c 28 78 c1 22 84 2d ad b2 8b 01 bd 5f 8c 02 5f 7e 22 84 18 a6 73 c0 3d 6b c0 c7 36 d0 a2 95 46
bd 67 f7 86 d9 d6 92 cc ea 77 8d 71 d9 8c 20 63 b7 a7 10 92 18 7a 4d 35 af 10 81 11 d8 3e 83 ea
e4 6c 46 aa 34 27 7e 06 04 45 89 90 37 88 f1 d5 e7 ce e2 5f b4 85 e9 29 49 11 88 14 d6 f2 c3 ee
36 14 89 01 6f 32 7f b5 bc 51 7e b5 04 70 bf fa 1a fa 5f 4c e9 aa 0c e5 b8 ee 19 bf 55 01 b9 58`,
  },
];
