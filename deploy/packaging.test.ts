/**
 * The package and the fleet example hold together: electron-builder's configuration, the layout
 * the units and the install script rely on, the default policy shipped in /etc, and the Ansible
 * playbook. The .deb itself is built where Electron can be downloaded (last test).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_POLICY_YAML } from '../supervisor/policy/defaultPolicy';
import { skipWithReason } from '../supervisor/testing/skipWithReason';
import { createPamTestUser } from '../supervisor/testing/pamTestUser';
import { pamAuthenticate } from '../supervisor/session/pamCheck';
import { loadDefaultPolicy } from '../supervisor/policy/policyLoader';
import { PART_NODE_ENV, PART_NODE_FLAGS } from '../supervisor/sandbox/unprivilegedPart';

const config = parse(readFileSync('electron-builder.yml', 'utf8')) as {
  productName: string;
  asar: boolean;
  linux: { executableName: string; target: string[] };
  deb: { depends: string[]; afterInstall: string; afterRemove: string; fpm: string[] };
};
const unit = (name: string) => readFileSync(`deploy/systemd/${name}`, 'utf8');
const execStart = (text: string) => /^ExecStart=(.*)$/m.exec(text)![1]!.split(' ');

function electronDist(): string | null {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown as string;
    return existsSync(binary) ? binary.replace(/\/[^/]+$/, '') : null;
  } catch {
    return null;
  }
}

describe('packaging', () => {
  it('builds a .deb and a dir, unpacked so Node.js can run the supervisor and the CLI', () => {
    expect(config.linux.target).toEqual(['deb', 'dir']);
    expect(config.asar).toBe(false);
    for (const dep of ['nodejs (>= 20.19)', 'bubblewrap', 'tigervnc-standalone-server', 'cage']) expect(config.deb.depends).toContain(dep);
  });

  it('has its own icon: the SVG source rendered at every size the desktop needs, used by the package, the window and the page', () => {
    const icons = (config as unknown as { linux: { icon: string } }).linux.icon;
    expect(icons).toBe('assets/icons');
    for (const size of [16, 24, 32, 48, 64, 128, 256, 512]) {
      const png = readFileSync(`${icons}/${size}x${size}.png`);
      expect(png.subarray(1, 4).toString(), `${size}x${size}.png`).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)], `${size}x${size}.png`).toEqual([size, size]);
    }
    expect(readFileSync('assets/icon.svg', 'utf8')).toContain('<svg');
    expect(readFileSync('electron/main.ts', 'utf8')).toContain("'icons', '256x256.png'");
    expect(existsSync('out/icons/256x256.png')).toBe(true);
    expect(readFileSync('out/renderer/index.html', 'utf8')).toMatch(/<link rel="icon"[^>]+href="[^"]+\.svg"/);
  });

  it('installs the units and the default policy (a conffile) where the units expect them', () => {
    const mappings = config.deb.fpm.filter((a) => !a.startsWith('--')).map((m) => m.split('='));
    for (const [source] of mappings) expect(existsSync(source!), source).toBe(true);
    expect(Object.fromEntries(mappings.map(([s, d]) => [d, s]))).toMatchObject({
      '/etc/cloison/policy.yaml': 'deploy/policy/policy.yaml',
      '/lib/systemd/system/cloison-cage-manager.service': 'deploy/systemd/cloison-cage-manager.service',
      '/lib/systemd/system/cloison-supervisor.service': 'deploy/systemd/cloison-supervisor.service',
      '/lib/systemd/system/cloison-kiosk@.service': 'deploy/systemd/cloison-kiosk@.service',
      '/etc/pam.d/cloison-unlock': 'deploy/pam/cloison-unlock',
      '/usr/share/cloison/training/': 'training/',
    });
    expect(config.deb.fpm).toContain('--config-files=/etc/cloison/policy.yaml');
    expect(config.deb.fpm).toContain('--config-files=/etc/pam.d/cloison-unlock');
    expect(readFileSync('deploy/policy/policy.yaml', 'utf8')).toBe(DEFAULT_POLICY_YAML);
  });

  it('the units and the install script agree on the installed layout', () => {
    const postinst = readFileSync(config.deb.afterInstall, 'utf8');
    expect(postinst).toContain(`ln -sfn /opt/${config.productName} /usr/lib/cloison`);
    for (const name of ['cloison-cage-manager.service', 'cloison-supervisor.service']) {
      const supervisor = execStart(unit(name));
      expect(supervisor[0]).toBe('/usr/bin/node');
      // Node's own flags (the heap's semi-spaces) come before the program's path.
      const main = supervisor.slice(1).find((arg) => !arg.startsWith('--'))!.replace('/usr/lib/cloison/resources/app/', '');
      expect(existsSync(main), `${main} in the build`).toBe(true);
      expect(supervisor).toEqual(expect.arrayContaining(['--policy', '/etc/cloison/policy.yaml', '--shell-group', 'cloison-shell', '--admin-group', 'cloison-admin', '--keep-cages-on-stop']));
    }
    // The manager starts its part from the bundle beside its own.
    expect(existsSync('out/supervisor/cloisonPart.js')).toBe(true);
    // …and the rest of its code beside it, with its V8 code cache (supervisor/codeCache/).
    expect(existsSync('out/supervisor/cloisonPartMain.cjs') && existsSync('out/supervisor/cloisonPartMain.cjs.cache')).toBe(true);
    // The manager's Node flags are those its code cache is written under (PART_NODE_FLAGS): under others V8 refuses it.
    expect(existsSync('out/supervisor/cageManagerMain.cjs') && existsSync('out/supervisor/cageManagerMain.cjs.cache')).toBe(true);
    expect(execStart(unit('cloison-cage-manager.service')).slice(1, 1 + PART_NODE_FLAGS.length)).toEqual(PART_NODE_FLAGS);
    // So are npm start's (scripts/start.mjs starts the manager, or the root supervisor, with its own list).
    const startFlags = /const supervisorArgs = \[((?:'--[^']+', )*)programPath/.exec(readFileSync('scripts/start.mjs', 'utf8'))?.[1];
    expect(startFlags?.split(', ').filter(Boolean).map((flag) => flag.slice(1, -1))).toEqual(PART_NODE_FLAGS);
    // …and their environment (one malloc arena), as the parts' (partSpawn.ts): in both units and in npm start's.
    for (const [key, value] of Object.entries(PART_NODE_ENV)) {
      for (const name of ['cloison-cage-manager.service', 'cloison-supervisor.service']) expect(unit(name)).toMatch(new RegExp(`^Environment=${key}=${value}$`, 'm'));
      expect(readFileSync('scripts/start.mjs', 'utf8')).toMatch(new RegExp(`env: \\{ CLOISON_LOG_LEVEL: 'warn', \\.\\.\\.process\\.env, ${key}: '${value}' \\}`));
    }
    // The kiosk's shell reaches the part's socket, in the folder the manager makes for it (<run-dir>-broker).
    expect(unit('cloison-kiosk@.service')).toMatch(/^Environment=CLOISON_RPC_SOCKET=\/run\/cloison-broker\/supervisor\.sock$/m);
    // Starting the kiosk never pulls a supervisor unit in: the manager's would stop a single supervisor an administrator chose.
    expect(unit('cloison-kiosk@.service')).not.toMatch(/^(Wants|Requires|BindsTo|Requisite)=.*cloison-(cage-manager|supervisor)/m);
    expect(execStart(unit('cloison-kiosk@.service'))).toContain(`/usr/lib/cloison/${config.linux.executableName}`);
    const cli = /ln -sf \/usr\/lib\/cloison\/resources\/app\/(\S+) \/usr\/bin\/cloison/.exec(postinst)?.[1];
    expect(cli && readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    for (const group of ['cloison-admin', 'cloison-shell']) expect(postinst).toContain(`groupadd --system ${group}`);
    // The unprivileged part's account, as setup.sh makes it (#29).
    expect(postinst).toMatch(/getent passwd cloison >\/dev\/null \|\| useradd --system --user-group .* cloison\n/);
    expect(readFileSync('scripts/setup.sh', 'utf8')).toMatch(/id cloison >\/dev\/null 2>&1 \|\| useradd --system --user-group .* cloison\n/);
    for (const script of [config.deb.afterInstall, config.deb.afterRemove]) execFileSync('sh', ['-n', script]);
  });

  it("carries the card proxy's native libraries (OpenSSL pre-initialisation, workers' page-table fill, waiting worker's module initialisation): built into out/ (which the package takes whole), beside the bundles that look for them", () => {
    expect(config.deb.depends).toContain('opensc'); // libcrypto 3, the pre-initialisation's one dependency, comes with it (the fill needs libc alone)
    expect((config as unknown as { files: string[] }).files).toContain('out/**/*');
    expect(existsSync('out/supervisor/cageManager.js')).toBe(true);
    for (const library of ['out/supervisor/opensslPreinit.so', 'out/supervisor/workerPrefault.so', 'out/supervisor/workerModuleInit.so']) {
      expect(existsSync(library), `${library}: npm run build makes it (gcc, libssl-dev: scripts/setup.sh)`).toBe(true);
      // An ELF shared object, and no one but its owner may change it (the proxy refuses it otherwise).
      expect(readFileSync(library).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
      expect(statSync(library).mode & 0o022).toBe(0);
    }
  });

  it("the lock screen's PAM service, as shipped, checks a real account's password on this machine's PAM stack", async () => {
    expect(loadDefaultPolicy().session.pamService).toBe('cloison-unlock');
    const account = createPamTestUser();
    const shipped = `${account.service}-shipped`;
    copyFileSync('deploy/pam/cloison-unlock', `/etc/pam.d/${shipped}`);
    try {
      expect(await pamAuthenticate(shipped, account.user, account.password, account)).toBe(true);
      expect(await pamAuthenticate(shipped, account.user, 'wrong', account)).toBe(false);
    } finally {
      rmSync(`/etc/pam.d/${shipped}`, { force: true });
      account.remove();
    }
  });

  it('the Ansible playbook passes ansible-playbook --syntax-check', () => {
    const out = execFileSync('ansible-playbook', ['--syntax-check', '-i', 'deploy/ansible/inventory.example.ini', 'deploy/ansible/playbook.yml'], { encoding: 'utf8' });
    expect(out).toContain('playbook: deploy/ansible/playbook.yml');
  });

  const dist = electronDist();
  it('electron-builder makes the dir build (where the Electron binary exists)', (ctx) => {
    if (!dist) skipWithReason(ctx, 'Electron binary not installed (its download is blocked on this network): electron-builder needs it to build');
    execFileSync('npx', ['electron-builder', '--linux', 'dir', `-c.electronDist=${dist}`, '-c.directories.output=dist-test'], { stdio: 'ignore', timeout: 300_000 });
    expect(existsSync(`dist-test/linux-unpacked/${config.linux.executableName}`)).toBe(true);
    expect(existsSync('dist-test/linux-unpacked/resources/app/out/supervisor/main.js')).toBe(true);
  });
});
