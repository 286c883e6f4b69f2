/*
 * A GSS-API library that does nothing, for the cages' card client (cardClientModule.ts): the
 * client's copy of Debian's libtirpc names this library instead of MIT Kerberos's
 * libgssapi_krb5.so.2. libtirpc links GSS-API for RPCSEC_GSS, which the card client never uses
 * (it speaks AUTH_NONE over the level's Unix socket), yet loading Kerberos's five libraries and
 * relocating them cost every application ~3–4 ms of CPU and ~50 page faults before its first byte
 * reached the proxy (bench/RESULTS.md).
 *
 * What it defines: exactly what libtirpc 1.3 links under the version node gssapi_krb5_2_MIT
 * (gssStub.map): the 20 gss_* functions, each failing (GSS_S_FAILURE, minor status 0), and the two
 * name-type OIDs, with MIT's values. It is never named libgssapi_krb5.so.2: the loader matches a
 * later load by that name, and an application of the cage loading Kerberos after the card module
 * would be handed this library instead.
 */
#include <stdint.h>

typedef uint32_t OM_uint32;
typedef struct {
  OM_uint32 length;
  void *elements;
} gss_OID_desc;

#define GSS_S_FAILURE (13u << 16)

/*
 * Each function reads only its first argument, the minor status every GSS-API call takes first:
 * the System V x86-64 calling convention leaves the caller's other arguments unread, harmlessly.
 */
#define FAILING(name)                                    \
  OM_uint32 name(OM_uint32 *minor_status);               \
  OM_uint32 name(OM_uint32 *minor_status) {              \
    if (minor_status) *minor_status = 0;                 \
    return GSS_S_FAILURE;                                \
  }

FAILING(gss_accept_sec_context)
FAILING(gss_acquire_cred)
FAILING(gss_canonicalize_name)
FAILING(gss_delete_sec_context)
FAILING(gss_display_name)
FAILING(gss_display_status)
FAILING(gss_duplicate_name)
FAILING(gss_export_name)
FAILING(gss_get_mic)
FAILING(gss_import_name)
FAILING(gss_init_sec_context)
FAILING(gss_pname_to_uid)
FAILING(gss_release_buffer)
FAILING(gss_release_cred)
FAILING(gss_release_name)
FAILING(gss_sign)
FAILING(gss_unwrap)
FAILING(gss_verify_mic)
FAILING(gss_wrap)
FAILING(gss_wrap_size_limit)

/* RFC 2743's name types, as MIT's library defines them (1.2.840.113554.1.2.1.1 and 1.3.6.1.5.6.2). */
static gss_OID_desc user_name_oid = {10, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x01"};
static gss_OID_desc hostbased_service_oid = {6, (void *)"\x2b\x06\x01\x05\x06\x02"};
extern gss_OID_desc *const GSS_C_NT_USER_NAME;
extern gss_OID_desc *const GSS_C_NT_HOSTBASED_SERVICE;
gss_OID_desc *const GSS_C_NT_USER_NAME = &user_name_oid;
gss_OID_desc *const GSS_C_NT_HOSTBASED_SERVICE = &hostbased_service_oid;
