// ESLint rule: each top folder may import only what its zone allows (style anchors, habit 1), and
// within supervisor/ each room only the rooms below it (SUPERVISOR_LAYERS).
// A file in no zone is an error too, so a new folder cannot slip past the rule.
import { builtinModules } from 'node:module';
import { relative, resolve, dirname, sep } from 'node:path';

const NODE = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** zone → { folders it may import from, packages it may import, may it use Node built-ins } */
export const ZONES = {
  shared: { folders: ['shared'], packages: ['zod'], node: false },
  renderer: { folders: ['renderer', 'shared'], packages: ['react', 'react-dom', 'zustand', '@novnc/novnc', 'zod', 'vite', '@vitejs/plugin-react'], node: false },
  electron: { folders: ['electron', 'shared'], packages: ['electron', 'zod'], node: true },
  supervisor: { folders: ['supervisor', 'shared'], packages: ['ws', 'zod', 'yaml', 'pino', 'koffi'], node: true },
  // e2e/ runs the shell's Chromium as npm start does: scripts/ (its flags and profile) included.
  e2e: { folders: ['e2e', 'shared', 'supervisor', 'scripts'], packages: ['@playwright/test', 'pngjs', 'ws'], node: true },
  // bench/ measures the product as npm start runs it: scripts/ (its waiting page) included.
  bench: { folders: ['bench', 'shared', 'supervisor', 'e2e', 'scripts'], packages: ['@playwright/test', 'ws', 'esbuild', '@novnc/novnc'], node: true },
  // deploy/ holds no code that ships, only its tests: they check the package against the supervisor.
  deploy: { folders: ['deploy', 'supervisor'], packages: ['yaml'], node: true },
  // scripts/ may use the supervisor's test helpers in its own tests.
  scripts: { folders: ['scripts', 'supervisor'], packages: ['esbuild', 'eslint', 'typescript-eslint', '@playwright/test'], node: true },
};

/**
 * The supervisor's rooms, lowest first: a room imports only rooms below it, never one beside or
 * above (one room per entry; rooms in one entry import nothing of each other). The root files
 * (supervisor.ts, main.ts: the wiring) sit above every room, the test helpers above those; a test
 * may import anything it tests.
 */
export const SUPERVISOR_LAYERS = [
  ['system'],
  ['sandbox', 'audit', 'trust'],
  ['codeCache'],
  ['policy'],
  ['gateway', 'confirm', 'network'],
  ['cages'],
  ['apps', 'audio', 'clipboard', 'files', 'session', 'usb', 'smartcard'],
  ['keyboard', 'screen', 'training', 'cageManager'],
  ['rpc', 'admin'],
  ['host', 'cli'],
  ['browserPart'],
  ['lifecycle'],
  ['.'],
  ['testing'],
];

const SUPERVISOR_LAYER = new Map(SUPERVISOR_LAYERS.flatMap((rooms, layer) => rooms.map((room) => [room, layer])));

/** A supervisor file's room: its first folder under supervisor/, '.' for the root files. */
function supervisorRoom(path) {
  const parts = path.split(sep);
  return parts[0] !== 'supervisor' ? null : parts.length > 2 ? parts[1] : '.';
}

function basenameOf(path) {
  return path.split(sep).pop();
}

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export default {
  meta: { type: 'problem', schema: [], messages: {
    noZone: 'File {{file}} is in no layering zone: add its folder to scripts/eslint/layering.js.',
    badLayer: 'Bad layering: {{zone}}/ may not import {{what}}.',
    noRoom: 'Supervisor room {{room}}/ has no layer: add it to SUPERVISOR_LAYERS in scripts/eslint/layering.js.',
    roomUp: 'Bad layering: supervisor/{{from}} may not import supervisor/{{to}} (same layer or above): move what both need below them.',
  } },
  create(context) {
    const root = context.cwd;
    const file = relative(root, context.filename);
    const top = file.split(sep)[0];
    const zone = ZONES[top];
    if (!zone) {
      if (file.split(sep).length > 1) context.report({ loc: { line: 1, column: 0 }, messageId: 'noZone', data: { file } });
      return {};
    }
    const room = supervisorRoom(file);
    const isTest = /\.test\.tsx?$/.test(file);
    if (room !== null && !SUPERVISOR_LAYER.has(room)) context.report({ loc: { line: 1, column: 0 }, messageId: 'noRoom', data: { room } });
    const checkRoom = (node, targetPath) => {
      const to = supervisorRoom(targetPath);
      if (room === null || to === null || to === room || isTest || !SUPERVISOR_LAYER.has(room) || !SUPERVISOR_LAYER.has(to)) return;
      if (SUPERVISOR_LAYER.get(to) >= SUPERVISOR_LAYER.get(room)) context.report({ node, messageId: 'roomUp', data: { from: `${room}/`, to: to === '.' ? basenameOf(targetPath) : `${to}/` } });
    };
    const check = (node, spec) => {
      if (typeof spec !== 'string') return;
      if (spec.startsWith('.')) {
        const targetPath = relative(root, resolve(dirname(context.filename), spec));
        const target = targetPath.split(sep)[0];
        if (!zone.folders.includes(target)) context.report({ node, messageId: 'badLayer', data: { zone: top, what: `${target}/` } });
        else checkRoom(node, targetPath);
        return;
      }
      if (NODE.has(spec)) {
        if (!zone.node) context.report({ node, messageId: 'badLayer', data: { zone: top, what: `Node built-in "${spec}"` } });
        return;
      }
      // Test files may also use the test runner.
      if (isTest && packageName(spec) === 'vitest') return;
      if (!zone.packages.includes(packageName(spec))) context.report({ node, messageId: 'badLayer', data: { zone: top, what: `package "${spec}"` } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
