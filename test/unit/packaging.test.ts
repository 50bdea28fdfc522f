// Static checks of the packaging (no Docker engine runs here): Dockerfile, .dockerignore,
// docker-compose.yml, Grafana provisioning and package.json agree with each other and with the code.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { configSchema } from '../../src/config.ts';
import { parseSmppAccounts } from '../../src/deliver/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  expose?: (string | number)[];
  ports?: (string | number)[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
  healthcheck?: { test?: unknown };
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Compose interpolation: ${VAR:-default} / ${VAR-default} → the default, $$ → $; a bare ${VAR} must not appear. */
function interpolate(value: string, where: string): string {
  return value
    .replace(/\$\{([A-Z0-9_]+)(:?-)([^}]*)\}/g, (_m, _name, _op, def: string) => def)
    .replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
      throw new Error(`${where}: \${${name}} has no default; the stack would not start without it`);
    })
    .replace(/\$\$/g, '$');
}

function envOf(service: ComposeService, name: string): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw)
    ? raw.map((kv) => {
        const i = kv.indexOf('=');
        return [kv.slice(0, i), kv.slice(i + 1)] as const;
      })
    : Object.entries(raw);
  for (const [k, v] of entries) env[k] = interpolate(v === null ? '' : String(v), `${name}.${k}`);
  return env;
}

/** Container-side ports a service declares (expose, and the target of ports). */
function portsOf(service: ComposeService): Set<number> {
  const out = new Set<number>();
  for (const p of service.expose ?? []) out.add(Number(String(p).split('/')[0]));
  for (const p of service.ports ?? []) {
    const parts = String(p).split('/')[0].split(':');
    out.add(Number(parts[parts.length - 1]));
  }
  return out;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const services = compose.services;

function assertReachable(host: string, port: number, from: string) {
  const target = services[host];
  assert.ok(target, `${from} points at "${host}", which is not a compose service`);
  assert.ok(portsOf(target).has(port), `${from} points at ${host}:${port}, which ${host} does not expose`);
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1].toUpperCase(), args: m[2] };
    });
}

const defaults = configSchema.parse({});

test('docker-compose.yml parses and every service has an image or a build', () => {
  assert.equal(typeof services, 'object');
  for (const name of ['kafka', 'clickhouse', 'grafana', 'geotrigger', 'smsc'])
    assert.ok(services[name], `service ${name}`);
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image || s.build, `service ${name} has neither image nor build`);
    const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
    for (const d of deps) assert.ok(services[d], `${name} depends on unknown service ${d}`);
  }
});

test('every compose service and published port is explained by a comment', () => {
  const lines = read('docker-compose.yml').split('\n');
  for (const name of Object.keys(services)) {
    const i = lines.indexOf(`  ${name}:`);
    assert.ok(i > 0 && lines[i - 1].trim().startsWith('#'), `service ${name} has no comment above it`);
    // The comment block above the service names each port it declares.
    let j = i - 1;
    let comment = '';
    while (j >= 0 && lines[j].trim().startsWith('#')) comment = `${lines[j--]}\n${comment}`;
    for (const p of portsOf(services[name]))
      assert.match(comment, new RegExp(`\\b${p}\\b`), `the comment on ${name} does not explain port ${p}`);
  }
});

test('the environment given to geotrigger is made of config keys and validates with the config schema', () => {
  const env = envOf(services.geotrigger, 'geotrigger');
  const keys = new Set(Object.keys(configSchema.shape));
  for (const k of Object.keys(env))
    assert.ok(keys.has(k), `geotrigger env ${k} is not a key of configSchema`);
  const parsed = configSchema.safeParse(env);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
  const config = parsed.data;
  // The production-like stack uses the servers, not the embedded defaults.
  assert.ok(config.KAFKA_BROKERS, 'KAFKA_BROKERS');
  assert.ok(config.CLICKHOUSE_URL, 'CLICKHOUSE_URL');
  assert.ok(config.SMPP_ACCOUNTS, 'SMPP_ACCOUNTS');
  // The SMSC simulator reads the same schema.
  const smscEnv = envOf(services.smsc, 'smsc');
  for (const k of Object.keys(smscEnv)) assert.ok(keys.has(k), `smsc env ${k} is not a key of configSchema`);
  assert.ok(configSchema.safeParse(smscEnv).success, 'smsc env validates');
});

test('every host:port geotrigger and Grafana are pointed at is a service exposing that port', () => {
  const env = configSchema.parse(envOf(services.geotrigger, 'geotrigger'));
  for (const b of env.KAFKA_BROKERS!.split(',')) {
    const [host, port] = b.trim().split(':');
    assertReachable(host, Number(port), 'KAFKA_BROKERS');
    const kafkaEnv = envOf(services[host], host);
    assert.match(kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '', new RegExp(`//${host}:${port}\\b`));
    // Every listener's port is declared.
    for (const m of (kafkaEnv.KAFKA_LISTENERS ?? '').matchAll(/:(\d+)/g))
      assert.ok(portsOf(services[host]).has(Number(m[1])), `kafka listener port ${m[1]} not declared`);
  }
  const ch = new URL(env.CLICKHOUSE_URL!);
  assertReachable(ch.hostname, Number(ch.port), 'CLICKHOUSE_URL');
  const chEnv = envOf(services[ch.hostname], ch.hostname);
  assert.equal(
    env.CLICKHOUSE_USER,
    chEnv.CLICKHOUSE_USER,
    'geotrigger logs in as the user ClickHouse creates',
  );
  assert.equal(env.CLICKHOUSE_PASSWORD, chEnv.CLICKHOUSE_PASSWORD);
  assert.equal(env.CLICKHOUSE_DATABASE, chEnv.CLICKHOUSE_DB);
  for (const a of parseSmppAccounts(env.SMPP_ACCOUNTS!)) {
    assertReachable(a.host, a.port, `SMPP_ACCOUNTS ${a.name}`);
    const sim = configSchema.parse(envOf(services[a.host], a.host));
    assert.equal(sim.SMSC_SIM_PORT, a.port, 'the simulator listens where SMPP_ACCOUNTS points');
  }
  assert.ok(portsOf(services.geotrigger).has(env.PORT), `geotrigger does not expose its PORT ${env.PORT}`);
  const ds = parse(read('dashboards/provisioning/datasources/clickhouse.yaml')) as {
    datasources: { type: string; jsonData: { host: string; port: number; username: string } }[];
  };
  for (const d of ds.datasources) assertReachable(d.jsonData.host, d.jsonData.port, `Grafana data source`);
});

test('files bind-mounted by the compose services exist, and Grafana finds its dashboards and plugin', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const [src, dst] = v.split(':');
      if (src.startsWith('./') || src.startsWith('../')) {
        assert.ok(existsSync(resolve(ROOT, src)), `${name} mounts ${src}, which does not exist`);
      } else {
        assert.ok(compose.volumes && src in compose.volumes, `${name} uses undeclared volume ${src}`);
      }
      assert.ok(dst?.startsWith('/'), `${name}: ${v} mounts to an absolute path`);
    }
  }
  const grafana = services.grafana;
  const mounts = new Map((grafana.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]]));
  const provider = parse(read('dashboards/provisioning/dashboards/geotrigger.yaml')) as {
    providers: { type: string; options: { path: string } }[];
  };
  const dashPath = provider.providers[0].options.path;
  const dashboards = [...mounts.entries()].filter(([dst]) => dst.startsWith(`${dashPath}/`));
  assert.ok(dashboards.length > 0, `nothing is mounted under the provider path ${dashPath}`);
  for (const [, src] of dashboards) JSON.parse(readFileSync(resolve(ROOT, src), 'utf8'));
  assert.ok(mounts.get('/etc/grafana/provisioning/datasources'), 'data sources provisioned');
  assert.ok(mounts.get('/etc/grafana/provisioning/dashboards'), 'dashboards provisioned');
  const ds = parse(read('dashboards/provisioning/datasources/clickhouse.yaml')) as {
    datasources: { type: string; jsonData: { username: string }; secureJsonData: { password: string } }[];
  };
  const genv = envOf(grafana, 'grafana');
  for (const d of ds.datasources) {
    assert.equal(d.type, 'grafana-clickhouse-datasource');
    assert.ok(genv.GF_PLUGINS_PREINSTALL_SYNC?.split(',').includes(d.type), 'the plugin is installed');
    // The read-only user of dashboards/readonly-user.sql, with the password the ClickHouse init script sets.
    assert.equal(d.jsonData.username, 'grafana');
    assert.match(read('dashboards/readonly-user.sql'), /CREATE USER IF NOT EXISTS grafana\b/);
    const variable = /^\$\{?([A-Z0-9_]+)\}?$/.exec(d.secureJsonData.password)?.[1];
    assert.ok(variable && genv[variable], `Grafana has ${variable} for the data source password`);
    assert.equal(genv[variable], envOf(services.clickhouse, 'clickhouse')[variable!]);
  }
  // The dashboard's data source variable picks a data source of this plugin.
  const dash = read('dashboards/geotrigger.json');
  assert.match(dash, /"query":\s*"grafana-clickhouse-datasource"/);
  // The ClickHouse init script is executed by the image's entrypoint, not sourced.
  const script = join(ROOT, 'dashboards/provisioning/clickhouse/readonly-user.sh');
  assert.ok(statSync(script).mode & 0o111, 'readonly-user.sh is executable');
});

test('the Dockerfile is multi-stage, non-root, with HEALTHCHECK and EXPOSE matching the PORT default', () => {
  const ins = dockerInstructions(read('Dockerfile'));
  const froms = ins.map((x, i) => ({ ...x, i })).filter((x) => x.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  const last = froms[froms.length - 1].i;
  const runtime = ins.slice(last);
  const users = runtime.filter((x) => x.op === 'USER').map((x) => x.args.split(':')[0]);
  assert.ok(users.length > 0, 'the runtime stage sets USER');
  assert.ok(!['root', '0'].includes(users[users.length - 1]), `runs as ${users[users.length - 1]}`);
  const expose = runtime.filter((x) => x.op === 'EXPOSE').flatMap((x) => x.args.split(/\s+/).map(Number));
  assert.ok(expose.includes(defaults.PORT), `EXPOSE ${expose} lacks PORT default ${defaults.PORT}`);
  const health = runtime.find((x) => x.op === 'HEALTHCHECK');
  assert.ok(health, 'HEALTHCHECK');
  assert.match(health.args, /\/livez/);
  assert.match(health.args, new RegExp(`\\b${defaults.PORT}\\b`));
  const cmd = runtime.find((x) => x.op === 'CMD');
  assert.ok(cmd, 'CMD');
  assert.match(cmd.args, /src\/main\.ts/);
  // Production dependencies only, and no tsx installed beside them.
  const runs = ins.filter((x) => x.op === 'RUN').map((x) => x.args);
  assert.ok(
    runs.some((r) => /npm (install|ci)\b.*--omit=dev/.test(r)),
    'a stage installs with --omit=dev',
  );
  // `npm install` installs what package.json lists; naming packages on the command line adds others.
  for (const r of runs) {
    for (const cmd of r.split(/&&|;/)) {
      const words = cmd.trim().split(/\s+/);
      if (words[0] !== 'npm' || !['install', 'i', 'add'].includes(words[1])) continue;
      const named = words.slice(2).filter((w) => !w.startsWith('-'));
      assert.deepEqual(named, [], `RUN ${cmd.trim()}: installs packages beside package.json`);
    }
  }
  const copiesModules = runtime.filter((x) => x.op === 'COPY' && /node_modules/.test(x.args));
  for (const c of copiesModules) {
    const from = /--from=(\S+)/.exec(c.args)?.[1];
    const stage = froms.find((f) => new RegExp(`\\bAS\\s+${from}$`, 'i').test(f.args));
    assert.ok(stage, `node_modules copied from stage ${from}`);
    const stageRuns = ins.slice(stage.i, froms.find((f) => f.i > stage.i)?.i).filter((x) => x.op === 'RUN');
    assert.ok(
      stageRuns.some((r) => /--omit=dev/.test(r.args)),
      `stage ${from} installs production dependencies only`,
    );
  }
});

test('what the Dockerfile copies from the context exists and is not excluded by .dockerignore', () => {
  const ignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const must of ['node_modules', 'data', '.git'])
    assert.ok(ignore.includes(must), `.dockerignore ${must}`);
  const ignored = (p: string) => {
    const clean = p.replace(/^\.\//, '').replace(/\/$/, '');
    return ignore.some((pat) => {
      const x = pat.replace(/^\.?\//, '').replace(/\/$/, '');
      return clean === x || clean.startsWith(`${x}/`);
    });
  };
  for (const c of dockerInstructions(read('Dockerfile')).filter((x) => x.op === 'COPY')) {
    if (/--from=/.test(c.args)) continue;
    const parts = c.args.split(/\s+/).filter((a) => !a.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: missing`);
      assert.ok(!ignored(src), `COPY ${src}: excluded by .dockerignore`);
    }
  }
});

/** Bare package names imported (at run time, not `import type`) by the code reachable from `entries`. */
function runtimePackages(entries: string[]): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = entries.map((e) => join(ROOT, e));
  const spec =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(spec)) {
      if (m[2]) continue;
      const s = m[3] ?? m[4];
      if (s.startsWith('.')) {
        const target = resolve(dirname(file), s);
        assert.ok(
          target.startsWith(join(ROOT, 'src')) || target.startsWith(join(ROOT, 'tools')),
          `${file} imports ${s}, outside the image's src/ and tools/`,
        );
        if (target.endsWith('.ts')) queue.push(target);
        continue;
      }
      if (s.startsWith('node:') || builtinModules.includes(s)) continue;
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0];
      packages.set(name, file.slice(ROOT.length));
    }
  }
  return packages;
}

test('npm start and the image need production dependencies only (tsx among them)', () => {
  const pkg = JSON.parse(read('package.json')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const start = pkg.scripts.start;
  assert.ok(start, 'a start script');
  // The command the start script runs is a production dependency's binary.
  // (after any leading environment assignments, e.g. GLIBC_TUNABLES)
  const bin = start.split(/\s+/).find((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w)) ?? '';
  assert.ok(bin === 'node' || pkg.dependencies[bin], `start runs ${bin}, not a production dependency`);
  // Huge pages for the big typed arrays: npm start and the image run with the same malloc setting.
  const tunables = /GLIBC_TUNABLES=(\S+)/.exec(start)?.[1];
  assert.equal(tunables, 'glibc.malloc.hugetlb=1', 'npm start sets GLIBC_TUNABLES');
  const env = dockerInstructions(read('Dockerfile')).filter((x) => x.op === 'ENV');
  assert.ok(
    env.some((x) => x.args === `GLIBC_TUNABLES=${tunables}`),
    'the image sets the same GLIBC_TUNABLES as npm start',
  );
  assert.ok(pkg.dependencies.tsx, 'tsx is a production dependency');
  assert.ok(!pkg.devDependencies?.tsx, 'tsx is not also a devDependency');
  // Everything the service and the tools in the image import at run time.
  const used = runtimePackages(['src/main.ts', 'tools/smsc.ts', 'tools/simulate.ts']);
  assert.ok(used.has('kafkajs') && used.has('chdb'), 'the walk reaches the stages');
  for (const [name, from] of used)
    assert.ok(pkg.dependencies[name], `${from} imports ${name}, which is not in dependencies`);
});
