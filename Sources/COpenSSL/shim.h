#ifndef PATCHSYNC_COPENSSL_SHIM_H
#define PATCHSYNC_COPENSSL_SHIM_H

/* libcrypto only: verifying signed tokens (HMAC-SHA256, Ed25519, ECDSA P-256) and hashing them. */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

/* Integer macros over other macros, spelled out for Swift. */
static inline int cpatchsync_pkey_ed25519(void) { return EVP_PKEY_ED25519; }
static inline int cpatchsync_pkey_ec(void) { return EVP_PKEY_EC; }

#endif
