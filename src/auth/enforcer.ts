// The policy enforcer: Glance's registered defaults, overridden by the operator's policy
// files, compiled once; check() then runs on every request.
//
// What glance-api 25.1.0 (Zed) does, and this module copies:
//  - Every policy Glance checks is registered (glance-defaults.ts). A policy named in
//    policy_file / policy_dirs replaces the registered default as written.
//  - [oslo_policy] enforce_new_defaults = false (oslo.policy's default in Zed): a policy
//    not overridden whose default changed evaluates "new default OR legacy default". For
//    Glance's image policies the legacy default is rule:default, and "default" itself is
//    "" (always) OR role:admin, so nearly every image and member policy allows everyone;
//    only publicize_image, copy_image, the cache policies, tasks_api_access,
//    stores_info_detail and the metadef write policies stay admin-only. Glance then relies
//    on its hard-coded owner checks (see [DEFAULT] enforce_secure_rbac below).
//    With enforce_new_defaults = true only the new (secure RBAC: admin / member / reader)
//    defaults apply.
//  - [oslo_policy] enforce_scope = false (default): a policy's scope_types (['project'] for
//    all of Glance's) are not checked (oslo.policy only warns); true: a system- or
//    domain-scoped token fails every policy that has scope types.
//  - [DEFAULT] enforce_secure_rbac (Glance's own, deprecated, default false): glance-api
//    refuses to start unless it equals enforce_new_defaults. While false, Glance also runs
//    its legacy hard-coded checks after the policy (owner-or-admin for modify/delete/upload/
//    deactivate/reactivate/delete locations, owner must be the caller's project on create,
//    owner-only member management); that is the handlers' business, not this module's.
//  - A request context's is_admin is context_is_admin (role:admin) checked against the
//    context itself. oslo.policy's creds (oslo.context's to_policy_values) do not carry
//    is_admin, so a rule "is_admin:True" is never true in Glance 25 — and not here either.
//  - "rule:NAME" naming an undefined rule, or a rule that is not registered, falls back to
//    the "default" rule (oslo's Rules.__missing__), which is "" (always) in Glance.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { forbidden, notFound } from '../util/errors.js';
import type { RequestContext } from './context.js';
import { GLANCE_DEFAULTS, type RuleDefault } from './glance-defaults.js';
import { findFile, policyDirFiles, readPolicyFile, type FileRule, type PolicyProblem } from './policy-file.js';
import { pyStr } from './pystr.js';
import { checkToString, compile, parseRule, ROLES_LOWER, ruleRefs, type Check, type Creds, type Evaluator, type Target } from './rules.js';
import { sampleYaml, ruleLines } from './sample.js';
import { contextTarget } from './targets.js';

export type { PolicyProblem } from './policy-file.js';

export interface PolicyOptions {
  /** [oslo_policy] policy_file (null: the default, policy.yaml, or else policy.json as oslo falls back) */
  policyFile: string | null;
  /** [oslo_policy] policy_dirs (oslo's default: policy.d) */
  policyDirs: string[];
  enforceNewDefaults: boolean;
  enforceScope: boolean;
  /** where relative policy_file / policy_dirs names are searched, in order (oslo.config's find_file) */
  configDirs: string[];
}

/** A policy file that cannot be used; names every problem (file:line: policy "name": why). */
export class PolicyFileError extends Error {
  constructor(readonly problems: PolicyProblem[]) {
    super(problems.filter((p) => p.level === 'error').map(formatPolicyProblem).join('; '));
  }
}

export function formatPolicyProblem(p: PolicyProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  return `${where}${p.rule !== undefined ? `policy "${p.rule}": ` : ''}${p.message}`;
}

export const DEFAULT_RULE = 'default';
const DENY: Evaluator = () => false;
const SCOPE = Symbol('tokenScope');
const CREDS = Symbol('policyCreds');
const CTX_ROLES = Symbol('contextRoles');

const tokenScope = (c: Creds) => (c.system ? 'system' : c.domain_id ? 'domain' : 'project');

/**
 * oslo.context's to_policy_values() of a request context, with "system" set for a system-scoped
 * token as oslo.policy does. The symbol-keyed fields are invisible to rules (they look up string keys).
 */
class PolicyCreds {
  [key: string]: unknown;
  readonly [ROLES_LOWER]: readonly string[];
  readonly [SCOPE]: string;
  readonly [CTX_ROLES]: unknown;

  constructor(ctx: RequestContext) {
    const roles = ctx.roles ?? [];
    this.user_id = ctx.userId;
    this.user_domain_id = ctx.userDomainId ?? null;
    this.system_scope = ctx.systemScope ?? null;
    this.domain_id = ctx.domainId ?? null;
    this.project_id = ctx.projectId;
    this.project_domain_id = ctx.projectDomainId ?? null;
    this.roles = roles;
    this.is_admin_project = ctx.isAdminProject ?? true;
    this.service_user_id = ctx.serviceUserId ?? null;
    this.service_user_domain_id = ctx.serviceUserDomainId ?? null;
    this.service_project_id = ctx.serviceProjectId ?? null;
    this.service_project_domain_id = ctx.serviceProjectDomainId ?? null;
    this.service_roles = ctx.serviceRoles ?? [];
    if (ctx.systemScope) this.system = ctx.systemScope;
    // symbol keys: rules (string keys), Object.keys and JSON never see these
    this[ROLES_LOWER] = roles.map((r) => r.toLowerCase());
    this[SCOPE] = tokenScope(this);
    this[CTX_ROLES] = ctx.roles;
  }
}

interface Policy {
  fn: Evaluator;
  /** scope_types of the registered default (also for an overridden rule) */
  scopeTypes?: readonly string[];
}

export interface Inspection {
  enforcer?: Enforcer;
  problems: PolicyProblem[];
  /** policy files read, in order */
  files: string[];
  /** the policy_file found, if any (the other files came from policy_dirs) */
  policyFile?: string;
}

export class Enforcer {
  private readonly scopeWarned = new Set<string>();

  private constructor(
    private readonly registered: ReadonlyMap<string, RuleDefault>,
    private readonly fileRules: ReadonlyMap<string, FileRule>,
    /** effective tree of every rule, for listings and tests */
    private readonly trees: ReadonlyMap<string, Check>,
    private readonly policies: ReadonlyMap<string, Policy>,
    readonly files: readonly string[],
    readonly options: Readonly<PolicyOptions>,
    private readonly log?: Logger,
  ) {}

  /** Loads the policy files; throws PolicyFileError naming the file, line and rule of every error. */
  static load(o: PolicyOptions, log?: Logger, defaults: readonly RuleDefault[] = GLANCE_DEFAULTS): Enforcer {
    const r = Enforcer.inspect(o, defaults, log);
    for (const p of r.problems) if (p.level === 'warning') log?.warn({ policy: p.rule, file: p.file, line: p.line }, formatPolicyProblem(p));
    if (!r.enforcer) throw new PolicyFileError(r.problems);
    log?.debug({ files: r.files, enforceNewDefaults: o.enforceNewDefaults, enforceScope: o.enforceScope }, 'policy loaded');
    return r.enforcer;
  }

  /** Everything load() finds, errors and warnings, without throwing (for check-config). */
  static inspect(o: PolicyOptions, defaults: readonly RuleDefault[] = GLANCE_DEFAULTS, log?: Logger): Inspection {
    const problems: PolicyProblem[] = [];
    const files: string[] = [];
    const fileRules = new Map<string, FileRule>();
    const take = (file: string) => {
      files.push(file);
      for (const r of readPolicyFile(file, problems)) fileRules.set(r.name, r);
    };

    // policy_file: a missing one means defaults only, as in oslo (a debug message there). The default name
    // falls back to the pre-Wallaby policy.json (oslo does so only while the option is not set at all).
    const wanted = o.policyFile ?? 'policy.yaml';
    const main = findFile(wanted, o.configDirs) ?? (wanted === 'policy.yaml' ? findFile('policy.json', o.configDirs) : undefined);
    if (main) take(main);
    else if (wanted !== 'policy.yaml') {
      problems.push({ level: 'warning', file: wanted, message: `policy file not found${o.configDirs.length ? ` in ${o.configDirs.join(', ')}` : ''}; the defaults apply` });
    }
    for (const d of o.policyDirs) {
      const dir = findFile(d, o.configDirs);
      if (!dir) continue;
      let names: string[];
      try {
        if (!fs.statSync(dir).isDirectory()) {
          problems.push({ level: 'error', file: dir, message: 'policy_dirs entry is not a directory' });
          continue;
        }
        names = policyDirFiles(dir);
      } catch (err) {
        problems.push({ level: 'error', file: dir, message: `cannot read the policy directory (${(err as NodeJS.ErrnoException).code ?? err})` });
        continue;
      }
      for (const f of names) take(f);
    }

    const registered = new Map(defaults.map((d) => [d.name, d]));
    for (const [name, fr] of fileRules) {
      const reg = registered.get(name);
      if (reg && checkToString(fr.check) === checkToString(parseRule(reg.checkStr))) {
        problems.push({ level: 'warning', file: fr.file, line: fr.line, rule: name, message: 'same as the default; it can be removed from the policy file' });
      }
      if (reg?.deprecatedForRemoval) {
        problems.push({ level: 'warning', file: fr.file, line: fr.line, rule: name, message: `deprecated for removal since ${reg.deprecatedSince}; its value may be ignored in the future` });
      }
    }

    const trees = new Map<string, Check>();
    for (const [name, fr] of fileRules) trees.set(name, fr.check);
    for (const d of defaults) if (!trees.has(d.name)) trees.set(d.name, effectiveDefault(d, fileRules, o.enforceNewDefaults));

    const policies = link(trees, registered, fileRules, problems);
    const ok = !problems.some((p) => p.level === 'error');
    const enforcer = ok ? new Enforcer(registered, fileRules, trees, policies, files, { ...o }, log) : undefined;
    return { enforcer, problems, files, policyFile: main };
  }

  /** Is the action allowed? Unregistered actions are a programming error, as in Glance. */
  check(ctx: RequestContext, action: string, target: Target): boolean {
    const p = this.policies.get(action);
    if (!p || !this.registered.has(action)) throw new Error(`policy ${action} is not registered`);
    const creds = this.credsOf(ctx);
    if (p.scopeTypes && !this.scopeOk(creds, action, p.scopeTypes)) return false;
    return p.fn(creds, target);
  }

  /**
   * A rule that need not be one of Glance's registered policies (property protections in the `policies` format
   * name rules of the operator's policy file, as Glance checks them with registered=False); undefined = denied.
   */
  checkRule(ctx: RequestContext, name: string, target: Target): boolean {
    const p = this.policies.get(name);
    if (!p) return false;
    const creds = this.credsOf(ctx);
    if (p.scopeTypes && !this.scopeOk(creds, name, p.scopeTypes)) return false;
    return p.fn(creds, target);
  }

  /** check(), or the 403 Glance answers: "You are not authorized to complete <action> action." */
  enforce(ctx: RequestContext, action: string, target: Target): void {
    if (!this.check(ctx, action, target)) throw forbidden(`You are not authorized to complete ${action} action.`);
  }

  /**
   * An image policy as Glance's ImageAPIPolicy enforces it on an existing image: when the action is
   * denied and the caller may not even get_image it, the image is hidden: 404 (webob's bare
   * "The resource could not be found."), else 403. Not for add_image (nothing to hide yet).
   */
  enforceImage(ctx: RequestContext, action: string, target: Target): void {
    if (this.check(ctx, action, target)) return;
    if (action === 'get_image' || !this.check(ctx, 'get_image', target)) throw notFound('The resource could not be found.');
    throw forbidden(`You are not authorized to complete ${action} action.`);
  }

  /** Glance's RequestContext.is_admin when not given: context_is_admin checked against the context itself. */
  isAdmin(ctx: RequestContext): boolean {
    return this.check(ctx, 'context_is_admin', contextTarget(ctx));
  }

  /**
   * What oslo.context's to_policy_values hands oslo.policy (plus "system" for system-scoped tokens),
   * built once per context (again if its roles array is replaced).
   */
  credsOf(ctx: RequestContext): Creds {
    const held = (ctx as { [CREDS]?: PolicyCreds })[CREDS];
    if (held && held[CTX_ROLES] === ctx.roles) return held;
    const c = new PolicyCreds(ctx);
    // kept on the context itself, not enumerable so a {...ctx} copy does not take it along: one build per request
    Object.defineProperty(ctx, CREDS, { value: c, writable: true, configurable: true });
    return c;
  }

  private scopeOk(creds: Creds, action: string, scopeTypes: readonly string[]): boolean {
    const scope = creds instanceof PolicyCreds ? creds[SCOPE] : tokenScope(creds);
    if (scopeTypes.includes(scope)) return true;
    if (this.options.enforceScope) return false;
    // oslo.policy lets it through with a warning
    const key = `${action}/${scope}`;
    if (!this.scopeWarned.has(key)) {
      this.scopeWarned.add(key);
      this.log?.warn({ policy: action, tokenScope: scope, scopeTypes }, `policy ${action} failed the scope check: the token is ${scope}-scoped, the policy is for ${scopeTypes.join(', ')}`);
    }
    return true;
  }

  /** Registered policy names, in Glance's order. */
  actions(): string[] {
    return [...this.registered.keys()];
  }

  /** oslo.policy's str() of the rule in force, e.g. "(role:admin or rule:default)" for an old-and-new pair. */
  ruleInForce(name: string): string | undefined {
    const t = this.trees.get(name);
    return t && checkToString(t);
  }

  /** What oslopolicy-sample-generator --namespace glance prints (Debian's /etc/glance/policy.d/00_default_policy.yaml). */
  defaultsYaml(): string {
    return sampleYaml([...this.registered.values()]);
  }

  /** What oslopolicy-policy-generator --namespace glance prints: the policy files' rules, then the unchanged defaults. */
  effectiveYaml(): string {
    const lines: Array<[string, string]> = [];
    for (const [name, fr] of this.fileRules) lines.push([name, typeof fr.value === 'string' ? fr.value : pyStr(fr.value)]);
    for (const [name, d] of this.registered) if (!this.fileRules.has(name)) lines.push([name, d.checkStr]);
    return ruleLines(lines);
  }
}

/** oslo's _handle_deprecated_rule for a default the files do not override. */
function effectiveDefault(d: RuleDefault, fileRules: ReadonlyMap<string, FileRule>, enforceNewDefaults: boolean): Check {
  const check = parseRule(d.checkStr);
  const dep = d.deprecatedRule;
  if (!dep) return check;
  // a renamed policy whose old name the operator overrode keeps that override
  const old = dep.name !== d.name ? fileRules.get(dep.name) : undefined;
  if (old && checkToString(old.check) !== `rule:${d.name}`) return old.check;
  if (!enforceNewDefaults && dep.checkStr !== d.checkStr) return { type: 'or', rules: [check, parseRule(dep.checkStr)] };
  return check;
}

/**
 * Compiles every rule, resolving rule:NAME once. Undefined names fall back to "default" (or
 * deny without one), as oslo does at check time. oslo recurses forever on a cycle (a 500 in
 * Glance); rules in one are reported and deny.
 */
function link(
  trees: ReadonlyMap<string, Check>,
  registered: ReadonlyMap<string, RuleDefault>,
  fileRules: ReadonlyMap<string, FileRule>,
  problems: PolicyProblem[],
): Map<string, Policy> {
  const resolve = (name: string) => (trees.has(name) ? name : trees.has(DEFAULT_RULE) ? DEFAULT_RULE : undefined);
  const where = (name: string) => {
    const fr = fileRules.get(name);
    return fr ? { file: fr.file, line: fr.line } : {};
  };
  for (const [name, tree] of trees) {
    const missing = ruleRefs(tree).filter((r) => !trees.has(r));
    if (missing.length) {
      const fallback = trees.has(DEFAULT_RULE) ? `the "${DEFAULT_RULE}" rule applies instead` : 'they deny';
      problems.push({ level: 'warning', ...where(name), rule: name, message: `refers to undefined ${missing.map((m) => `rule:${m}`).join(', ')}; ${fallback}` });
    }
  }

  const cyclic = new Set<string>();
  const state = new Map<string, 1 | 2>(); // 1: on the DFS stack, 2: done
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, 1);
    stack.push(name);
    for (const ref of ruleRefs(trees.get(name)!)) {
      const to = resolve(ref);
      if (to === undefined) continue;
      if (state.get(to) === 1) for (const n of stack.slice(stack.indexOf(to))) cyclic.add(n);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(name, 2);
  };
  for (const name of trees.keys()) if (!state.has(name)) visit(name);
  // everything that reaches a cycle would recurse forever too
  const reaches = (name: string, seen = new Set<string>()): boolean => {
    if (cyclic.has(name)) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return ruleRefs(trees.get(name)!).some((r) => {
      const to = resolve(r);
      return to !== undefined && reaches(to, seen);
    });
  };
  const broken = new Set([...trees.keys()].filter((n) => reaches(n)));
  for (const name of broken) {
    problems.push({ level: 'warning', ...where(name), rule: name, message: cyclic.has(name) ? 'is part of a cycle of rule: references; it denies' : 'depends on a cycle of rule: references; it denies' });
  }

  const holders = new Map<string, { fn: Evaluator }>();
  for (const name of trees.keys()) holders.set(name, { fn: DENY });
  const none = { fn: DENY };
  const ref = (name: string) => holders.get(resolve(name) ?? '') ?? none;
  for (const [name, tree] of trees) if (!broken.has(name)) holders.get(name)!.fn = compile(tree, ref);
  const out = new Map<string, Policy>();
  for (const name of trees.keys()) out.set(name, { fn: holders.get(name)!.fn, scopeTypes: registered.get(name)?.scopeTypes });
  return out;
}
