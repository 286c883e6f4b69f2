/*
 * OpenSSL started once in a level's card proxy (Caml Crush's pkcs11proxyd), before it forks a
 * worker per connection: preloaded beside the level's PKCS#11 module by levelCardProxy.ts, so each
 * worker inherits an initialised OpenSSL instead of starting it in the module's C_Initialize while
 * the application waits (~0.6 ms of each worker's CPU: providers, the name map; bench/RESULTS.md).
 *
 * Why C: this has to run inside pkcs11proxyd, before its fork, and only a library the dynamic
 * loader maps can (the proxy is an OCaml program with no hook of its own). It is loaded into the
 * process that parses the cages' bytes, so it does nothing else: no input, no output, no file of
 * its own, no state besides OpenSSL's, no failure path (should OpenSSL refuse, each worker starts
 * it as before).
 *
 * Why it is safe: nothing secret is made here. Loading the configuration and fetching a digest
 * sets up providers and their algorithm tables; no random generator is instantiated and no key is
 * made. The module's own state (SoftHSM2's C_Initialize, its generator, every session) is still
 * each worker's, after its fork, and OpenSSL 3 reseeds its generators in a forked child anyway.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>

__attribute__((constructor))
static void openssl_preinit(void)
{
	/* What SoftHSM2's C_Initialize asks of OpenSSL, done once here. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS, NULL) != 1)
		return;
	/* The default provider's digest table built (its first fetch), as a signature's would. */
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_free(md);
}
