/**
 * Writes a level's Caml Crush configuration from the policy: the server's (netplex: its socket, one
 * worker process per connection, logs on stderr) and its filter's (which objects, which functions).
 *
 * Trust rule: everything in these files comes from the policy, whose labels, ids and function
 * names are restricted to characters that are neither OCaml string nor regular-expression syntax
 * (shared/smartcardPolicy.ts) — a label cannot widen the filter or end the string it sits in.
 */
import type { SmartcardLevelPolicy } from '../../shared/smartcardPolicy';

/** The module alias the cage's client asks for (PKCS11PROXY_LIBNAME); the only one the server knows. */
export const CARD_ALIAS = 'cloison';
/**
 * Connections served at once per level (each a process of its own); more wait. The proxy runs one
 * worker more: the guard's connection made ahead of the next cage's (spareProxyConnection.ts).
 */
export const MAX_CONNECTIONS = 8;

export interface CardServerPaths {
  /** The Unix socket the cage connects to. */
  socket: string;
  /** netplex's own control sockets (the proxy's folder). */
  netplexDir: string;
  filterConfig: string;
}

/** The netplex configuration of one level's pkcs11proxyd. */
export function serverConfig(level: string, paths: CardServerPaths): string {
  return `netplex {
  controller {
    max_level = "info";
    socket_directory = ${ocamlString(paths.netplexDir)};
    logging { type = "stderr"; };
  };
  service {
    name = ${ocamlString(`cloison-card-${level}`)};
    (* One connection per worker process: one application's session never meets another's. *)
    conn_limit = 1;
    protocol {
      name = "rpc_pkcs11";
      (* The proxy's own: only the supervisor's guard (recordGuard.ts) connects. *)
      local_chmod = "0o600";
      address { type = "local"; path = ${ocamlString(paths.socket)}; };
    };
    processor {
      type = "rpc_pkcs11";
      filter_config = ${ocamlString(paths.filterConfig)};
      use_ssl = false;
    };
    workload_manager {
      type = "dynamic";
      max_jobs_per_thread = 1;
      min_free_jobs_capacity = 1;
      max_free_jobs_capacity = 1;
      max_threads = ${MAX_CONNECTIONS + 1};
    };
  }
}
`;
}

/**
 * The filter: only the level's objects (every call naming a hidden object's handle is refused too),
 * its denied functions, no Security Officer login, read-only sessions (no token object is created,
 * changed or destroyed), and unless export is allowed no key value read out nor wrapped.
 */
export function filterConfig(modulePath: string, level: SmartcardLevelPolicy): string {
  const alias = ocamlString(CARD_ALIAS);
  const labels = level.objects.filter((o): o is string => typeof o === 'string');
  const ids = level.objects.flatMap((o) => (typeof o === 'string' ? [] : [o.id]));
  const denied = deniedFunctions(level);
  const lines = [
    // 0: nothing logged. At 1 every object the filter looks at is a line through netplex's
    // controller, which doubled a signature's latency; the journal reads the replies instead.
    'debug = 0',
    `modules = [(${alias}, ${ocamlString(modulePath)})]`,
    ...(labels.length > 0 ? [`allowed_labels = [(${alias}, [${labels.map((l) => ocamlString(`${escapeRegex(l)}$`)).join(', ')}])]`] : []),
    ...(ids.length > 0 ? [`allowed_ids = [(${alias}, [${ids.map((i) => ocamlString(`${i}$`)).join(', ')}])]`] : []),
    ...(denied.length > 0 ? [`forbidden_functions = [(${alias}, [${denied.join(', ')}])]`] : []),
    `forbid_admin_operations = [(${alias}, yes)]`,
    `enforce_ro_sessions = [(${alias}, yes)]`,
    ...(level.allowExport ? [] : [`filter_actions_post = [(${alias}, [(C_GetAttributeValue, prevent_sensitive_leak_patch)])]`]),
  ];
  return `${lines.join('\n')}\n`;
}

/** The functions the level's filter refuses: its deny list, and wrapping unless export is allowed. */
export function deniedFunctions(level: SmartcardLevelPolicy): string[] {
  return [...new Set([...level.deny, ...(level.allowExport ? [] : ['C_WrapKey' as const])])];
}

/** Str's regular-expression characters; the policy's label syntax already leaves none but these. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?[\]^$\\]/g, (c) => `\\${c}`);
}

/** An OCaml string literal (the configuration's syntax): backslashes and quotes escaped. */
function ocamlString(text: string): string {
  if (/[\0-\x1f\x7f]/.test(text)) throw new Error('a control character cannot go into the card proxy\'s configuration');
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
