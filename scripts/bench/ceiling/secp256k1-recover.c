/*
 * The ceiling of `npm run bench:protocol` on this CPU: libsecp256k1 itself, in C, with no
 * JavaScript, no decoding and no hashing: how many ECDSA public-key recoveries (what every
 * offer's signature check costs) and plain verifications (the public key already known) one
 * core does per second.
 *
 *   apt-get install -y gcc libsecp256k1-dev
 *   gcc -O2 scripts/bench/ceiling/secp256k1-recover.c -o /tmp/secp-ceiling -lsecp256k1 && /tmp/secp-ceiling
 *
 * Not part of the test suite or CI; it only measures the hardware.
 */
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N 20000
static unsigned char sigs[N][64];
static int recids[N];
static unsigned char msgs[N][32];

static double seconds (struct timespec a, struct timespec b) {
  return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int main (void) {
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  unsigned char sk[32];
  memset(sk, 7, sizeof sk);
  secp256k1_pubkey known;
  if (!secp256k1_ec_pubkey_create(ctx, &known, sk)) return 1;
  for (int i = 0; i < N; i++) {
    secp256k1_ecdsa_recoverable_signature rs;
    memset(msgs[i], i & 0xff, 32);
    msgs[i][0] = (unsigned char)(i >> 8);
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, msgs[i], sk, NULL, NULL)) return 1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sigs[i], &recids[i], &rs);
  }
  for (int pass = 0; pass < 3; pass++) {
    struct timespec a, b, c;
    int ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++) {
      secp256k1_ecdsa_recoverable_signature rs;
      secp256k1_pubkey pk;
      unsigned char out[65];
      size_t len = sizeof out;
      if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sigs[i], recids[i])) return 1;
      ok += secp256k1_ecdsa_recover(ctx, &pk, &rs, msgs[i]);
      secp256k1_ec_pubkey_serialize(ctx, out, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    for (int i = 0; i < N; i++) {
      secp256k1_ecdsa_signature s;
      if (!secp256k1_ecdsa_signature_parse_compact(ctx, &s, sigs[i])) return 1;
      ok += secp256k1_ecdsa_verify(ctx, &s, msgs[i], &known);
    }
    clock_gettime(CLOCK_MONOTONIC, &c);
    if (ok != 2 * N) { fprintf(stderr, "a signature failed to check\n"); return 1; }
    printf("{\"pass\":%d,\"recoverPerSec\":%.0f,\"verifyKnownKeyPerSec\":%.0f}\n", pass, N / seconds(a, b), N / seconds(b, c));
  }
  secp256k1_context_destroy(ctx);
  return 0;
}
