//! The one pipeline: a generating command changes the design (`kvgen.toml`)
//! and plans its sync; `kvgen sync` plans the sync of the design as it is.
//! So a command and `kvgen sync` never disagree about what a design makes:
//! the Wrangler config's bindings (top level and every environment listed),
//! the warm pattern's cron, the modules (through the upgrade rules of
//! [`crate::bases`]), the Rust crate's wiring, the session secret for
//! `wrangler dev`, `kvgen.lock` and `kvgen.toml` itself.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Value, context};

use super::generate::{self, ConfigEdit, Dependency, Prepared};
use crate::bases::{self, Lock};
use crate::cli::{GlobalArgs, SyncArgs};
use crate::config::KvBinding;
use crate::design::{self, Design, Module, Namespace, Purpose, Record, Ttl};
use crate::error::{BadInput, EXIT_CONFLICT, EXIT_OK};
use crate::plan::{Plan, Status, read_text};
use crate::project::{Lang, Project};

/// The default TTL of store and cache modules whose namespace sets none.
pub const DEFAULT_TTL: u64 = 3600;

/// The project and its design as they are before the run.
pub struct Context {
    pub project: Project,
    /// `kvgen.toml` as it is (None: missing).
    pub design_raw: Option<String>,
    pub design: Design,
    pub lock_raw: Option<String>,
    pub lock: Lock,
    /// `kvgen.toml` as a command edited it before the sync (`kvgen key
    /// add`); None: as it is, or as the sync's change makes it.
    pub edited: Option<String>,
}

/// Finds the project, reads its design and lock, and takes the run's lock.
/// The language is `--lang`, else the design's, else that of the modules
/// kvgen.lock records, else detected; `--lang` against the design's is bad
/// input.
/// The language of the modules kvgen.lock records, for a design that does
/// not name one: without it, detection alone could switch a Worker's
/// modules to another language (a JavaScript Worker with kvgen's TypeScript
/// modules, or a tsconfig.json added later).
fn recorded_lang(lock: &Lock) -> Option<Lang> {
    lock.files
        .keys()
        .find_map(|path| match path.rsplit_once('.')?.1 {
            "ts" if !path.ends_with(".d.ts") => Some(Lang::Ts),
            "js" => Some(Lang::Js),
            "rs" => Some(Lang::Rust),
            _ => None,
        })
}

pub fn begin(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Context> {
    let config = crate::project::config_path(cwd, global.config.as_deref())?;
    let root = config.parent().unwrap_or(cwd);
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    // Before anything is read: an interrupted run's files are put back
    // first, and no other run changes them meanwhile.
    crate::lock::hold(&root, global.dry_run)?;
    let design_raw = read_text(&root.join(design::FILE), design::FILE)?;
    let shown = crate::names::show_path(&root.join(design::FILE));
    let design = match &design_raw {
        Some(raw) => design::parse(raw, &shown)?,
        None => Design::default(),
    };
    if let (Some(asked), Some(recorded)) = (global.lang, design.lang)
        && asked != recorded
    {
        return Err(BadInput::new(format!(
            "--lang {}: {shown} says lang = \"{}\"; a Worker's modules are in one language (edit kvgen.toml to change it)",
            design::lang_word(asked),
            design::lang_word(recorded)
        ))
        .into());
    }
    let (lock_raw, lock) = Lock::read(&root)?;
    let global = GlobalArgs {
        lang: global.lang.or(design.lang).or_else(|| recorded_lang(&lock)),
        ..global.clone()
    };
    let project = super::project(cwd, &global)?;
    Ok(Context {
        project,
        design_raw,
        design,
        lock_raw,
        lock,
        edited: None,
    })
}

/// What a generating command asks of its namespace.
pub struct Run<'a> {
    pub binding: &'a str,
    /// The title, when the command names it (`create NAMESPACE`).
    pub title: Option<String>,
    /// The purpose of a namespace the command adds.
    pub purpose: Purpose,
    /// `--ttl`, when given.
    pub default_ttl: Option<Ttl>,
    /// The TTL a namespace gets when neither `--ttl` nor the design sets one.
    pub fallback_ttl: Option<Ttl>,
    pub modules: &'a [Module],
    pub cron: Option<String>,
    pub cookie: Option<String>,
    /// The Analytics Engine dataset the cache lookups are counted in.
    pub metrics: Option<String>,
}

/// A command's change of the design: its namespace as it will be, the
/// binding with the ids the run gives, and the places the run targets.
pub struct Change {
    /// The table of the design the run records.
    pub record: Record,
    pub binding: KvBinding,
    pub targets: Vec<Option<String>>,
    /// `[kvgen]` of a design file the run creates.
    pub settings: Design,
    /// The run is `kvgen session`: git is asked about the secret's file
    /// even when it holds one already.
    pub session: bool,
}

impl Context {
    /// The module folder of a namespace: its own `dir`, the design's, else
    /// the default (`--dir` checks the same way).
    fn dir_of(&self, global: &GlobalArgs, ns: Option<&Namespace>) -> Result<String, BadInput> {
        let recorded = ns
            .and_then(|n| n.dir.clone())
            .or_else(|| self.design.dir.clone());
        let global = GlobalArgs {
            dir: recorded.clone(),
            ..global.clone()
        };
        super::module_dir(&global, &self.project).map_err(|e| match recorded {
            Some(_) => BadInput::new(format!(
                "{}: {}",
                crate::names::show_path(&self.project.root.join(design::FILE)),
                e.0.replacen("--dir", "dir =", 1)
            )),
            None => e,
        })
    }

    /// The namespace of `run` as the design will hold it after the run.
    pub fn record(
        &self,
        global: &GlobalArgs,
        run: Run<'_>,
        ids: KvBinding,
    ) -> anyhow::Result<Change> {
        let targets = super::envs(global, &self.project)?;
        if targets.len() > 1 && (ids.id.is_some() || ids.preview_id.is_some()) {
            let places: Vec<String> = targets
                .iter()
                .map(|env| match env {
                    None => "the top level".to_string(),
                    Some(env) => format!("env.{env}"),
                })
                .collect();
            return Err(BadInput::new(format!(
                "--id and --preview-id name one namespace, and this run binds {} in {} places ({}): environments sharing a namespace share its data (staging writing production's); give each environment its own, one run per environment with its --id, or leave --id out and create them with the printed commands",
                ids.binding,
                targets.len(),
                places.join(", ")
            ))
            .into());
        }
        let existing = self.design.namespace(run.binding);
        let mut ns = existing.cloned().unwrap_or_else(|| Namespace {
            title: Some(generate::namespace_title(run.binding)),
            purpose: Some(run.purpose),
            top_level: false,
            ..Namespace::new(run.binding)
        });
        if let Some(title) = run.title {
            ns.title = Some(title);
        }
        if let Some(ttl) = run.default_ttl {
            ns.default_ttl = Some(ttl);
        } else if ns.default_ttl.is_none() {
            ns.default_ttl = run.fallback_ttl;
        }
        for module in run.modules {
            if !ns.modules.contains(module) {
                ns.modules.push(*module);
            }
        }
        if existing.is_none() {
            ns.modules.sort();
        }
        for target in &targets {
            match target {
                None => ns.top_level = true,
                Some(env) if !ns.envs.contains(env) => ns.envs.push(env.clone()),
                Some(_) => {}
            }
        }
        if run.cron.is_some() {
            ns.cron = run.cron;
        }
        if run.cookie.is_some() {
            ns.cookie = run.cookie;
        }
        if run.metrics.is_some() {
            ns.metrics = run.metrics;
        }
        let mut settings = Design::default();
        if self.design_raw.is_none() {
            settings.lang = Some(self.project.lang);
            settings.dir = Some(super::module_dir(global, &self.project)?);
        } else if global.dir.is_some() {
            let asked = super::module_dir(global, &self.project)?;
            if self.dir_of(global, existing).ok().as_deref() != Some(asked.as_str()) {
                ns.dir = Some(asked);
            }
        }
        Ok(Change {
            session: run.modules.contains(&Module::Session),
            record: Record::Namespace(ns),
            binding: ids,
            targets,
            settings,
        })
    }
}

/// A generating command: its namespace recorded in the design, then the
/// whole design synced, with the next steps every command gives (`line` is
/// the command line as a printed step repeats it).
pub fn command(
    cwd: &Path,
    global: &GlobalArgs,
    run: Run<'_>,
    ids: KvBinding,
    line: &str,
) -> anyhow::Result<Synced> {
    let ctx = begin(cwd, global)?;
    let change = ctx.record(global, run, ids)?;
    let binding = change.record.name().to_string();
    let mut synced = plan(cwd, global, ctx, Some(change))?;
    let title = synced
        .design
        .namespace(&binding)
        .expect("the change is in the design")
        .title();
    synced.prepared.plan.next_steps =
        generate::binding_next_steps(&synced.prepared, global, line, &binding, &title);
    Ok(synced)
}

/// A command that records a binding other than a KV namespace (a rate
/// limiter, a counter binding): `want` with the places of this run added to
/// those the design has, then the whole design synced.
pub fn command_other(cwd: &Path, global: &GlobalArgs, want: Record) -> anyhow::Result<Synced> {
    let ctx = begin(cwd, global)?;
    let targets = super::envs(global, &ctx.project)?;
    let mut record = want;
    let existing = record.find(&ctx.design);
    {
        let places = match &mut record {
            Record::RateLimit(r) => &mut r.places,
            Record::Counter(c) => &mut c.places,
            Record::Namespace(_) => unreachable!("namespaces are recorded by `command`"),
        };
        *places = match &existing {
            Some(Record::RateLimit(r)) => r.places.clone(),
            Some(Record::Counter(c)) => c.places.clone(),
            _ => design::Places {
                envs: Vec::new(),
                top_level: false,
            },
        };
        for target in &targets {
            match target {
                None => places.top_level = true,
                Some(env) if !places.envs.contains(env) => places.envs.push(env.clone()),
                Some(_) => {}
            }
        }
    }
    let mut settings = Design::default();
    if ctx.design_raw.is_none() {
        settings.lang = Some(ctx.project.lang);
        settings.dir = Some(super::module_dir(global, &ctx.project)?);
    } else if global.dir.is_some() {
        let asked = super::module_dir(global, &ctx.project)?;
        if ctx.dir_of(global, None).ok().as_deref() != Some(asked.as_str()) {
            return Err(BadInput::new(format!(
                "--dir {asked}: the modules of rate limiters and counters go in the design's folder ({}); change `dir` in kvgen.toml to move them",
                ctx.dir_of(global, None)?
            ))
            .into());
        }
    }
    let change = Change {
        binding: KvBinding::new(record.name()),
        record,
        targets,
        settings,
        session: false,
    };
    plan(cwd, global, ctx, Some(change))
}

/// The session secret the sync placed, for the next steps.
pub struct Secret {
    /// The file that holds it, per environment of the session namespaces.
    pub holders: Vec<(Option<String>, String)>,
    pub git_steps: Vec<String>,
}

/// A sync planned: the design after the change, what the plan holds, and
/// for the namespace of the change (or the first one) what a command's next
/// steps need.
pub struct Synced {
    pub prepared: Prepared,
    /// The places the run targets (a command's), else every namespace's.
    pub run_targets: Vec<Option<String>>,
    pub design: Design,
    pub secret: Option<Secret>,
}

/// Plans the sync of the design, after `change` when a command makes one.
pub fn plan(
    cwd: &Path,
    global: &GlobalArgs,
    ctx: Context,
    change: Option<Change>,
) -> anyhow::Result<Synced> {
    let Context {
        project,
        design_raw,
        design: before,
        lock_raw,
        lock,
        edited,
    } = ctx;
    let root = project.root.clone();
    let shown = crate::names::show_path(&root.join(design::FILE));
    let (design_text, design) = match &change {
        Some(change) => {
            let text = design::with_record(
                design_raw.as_deref(),
                &shown,
                &change.settings,
                &change.record,
            )?;
            let design = design::parse(&text, &shown)?;
            (text, design)
        }
        None if edited.is_some() => {
            let text = edited.expect("checked");
            let design = design::parse(&text, &shown)?;
            (text, design)
        }
        None => (
            design_raw.clone().ok_or_else(|| {
                BadInput::new(format!(
                    "{shown}: no such file; the first generating command (e.g. `kvgen create NAME`) writes it, or `kvgen init` writes one for a project kvgen has generated code in before"
                ))
            })?,
            before.clone(),
        ),
    };
    let ctx = Context {
        project,
        design_raw,
        design: design.clone(),
        lock_raw,
        lock,
        edited: None,
    };
    let project = &ctx.project;
    let mut plan = Plan {
        write_marked: global.write_conflicts,
        ..Plan::default()
    };

    // The Wrangler config: every namespace's binding where the design puts
    // it (with the ids the run gives), and the warm pattern's cron.
    let ids_for = |ns: &Namespace, target: &Option<String>| -> KvBinding {
        match &change {
            Some(c) if c.record.name() == ns.binding && c.targets.contains(target) => {
                c.binding.clone()
            }
            _ => KvBinding::new(ns.binding.clone()),
        }
    };
    let bindings: Vec<(Option<String>, KvBinding)> = design
        .namespaces
        .iter()
        .flat_map(|ns| {
            ns.targets()
                .into_iter()
                .map(|t| (t.clone(), ids_for(ns, &t)))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut edits: Vec<(Option<String>, ConfigEdit<'_>)> = bindings
        .iter()
        .map(|(target, binding)| (target.clone(), generate::kv_binding(binding, global.force)))
        .collect();
    for ns in &design.namespaces {
        if let Some(cron) = ns
            .cron
            .clone()
            .filter(|_| ns.modules.contains(&Module::Warm))
        {
            let top_level_too = ns.top_level;
            for target in ns.targets() {
                let cron = cron.clone();
                edits.push((
                    target,
                    Box::new(move |format, text, env| {
                        super::cache::cron_edit(format, text, env, &cron, top_level_too)
                    }),
                ));
            }
        }
    }
    check_counter_class(&design, project)?;
    edits.extend(other_binding_edits(&design, project, global.force));
    let config = generate::edit_config(&mut plan, project, &edits)?;
    drop(edits);

    // The modules, one rendering per file however many namespaces want it.
    let mut next = Lock::for_design(&design);
    let Renderings {
        files: wanted,
        dirs,
        rust,
    } = renderings(&ctx, global, &shown)?;
    for (path, (content, _)) in wanted.iter() {
        bases::plan_file(
            &mut plan,
            &root,
            path,
            content.clone(),
            global.force,
            &ctx.lock,
            &mut next,
        )?;
    }
    // A module whose file stays deleted is not declared either.
    for (dir, (modules, deps)) in &rust {
        let modules: Vec<&str> = modules
            .iter()
            .map(String::as_str)
            .filter(|m| {
                let path = format!("{dir}/{m}.rs");
                !plan
                    .files
                    .iter()
                    .any(|f| f.path == path && f.status == Status::Skip)
            })
            .collect();
        generate::rust_wiring(&mut plan, project, dir, &modules, deps)?;
    }
    // Only a plain relative path is looked at: kvgen.lock is not trusted
    // to name files outside the project.
    let plain = |path: &str| {
        !path.is_empty()
            && !path.starts_with('/')
            && !path.contains('\\')
            && path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    };
    for path in ctx
        .lock
        .files
        .keys()
        .filter(|p| !wanted.contains_key(*p) && plain(p) && root.join(p).is_file())
    {
        plan.notes.push(format!(
            "{} is no longer in the design: kvgen left it as it is and no longer tracks it (delete it if nothing uses it)",
            crate::names::show_path(Path::new(path))
        ));
    }
    for binding in ctx
        .lock
        .bindings
        .iter()
        .filter(|b| design.namespace(b).is_none())
    {
        plan.notes.push(format!(
            "{binding} is no longer in the design: kvgen never deletes a binding from the Wrangler config, so remove it there by hand if the Worker no longer uses it"
        ));
    }
    // A namespace of the design bound in a place the design does not list
    // (an environment taken out of `envs`, or bound by hand): left there.
    let config_name = project
        .config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ns in &design.namespaces {
        let at_top = project.settings["kv_namespaces"]
            .as_array()
            .is_some_and(|entries| entries.iter().any(|e| e["binding"] == ns.binding.as_str()));
        if at_top && !ns.top_level {
            plan.notes.push(format!(
                "{config_name} binds {} at the top level, and kvgen.toml has top_level = false for it: kvgen leaves the binding there (it never deletes one); remove it by hand, or drop top_level = false to keep it in the design",
                ns.binding
            ));
        }
        for env in project.environments() {
            if project.env_has_kv_binding(&env, &ns.binding) && !ns.envs.contains(&env) {
                plan.notes.push(format!(
                    "{config_name} binds {} in env.{env}, which its envs in kvgen.toml do not list: kvgen leaves the binding there (it never deletes one); remove it by hand, or add \"{env}\" to envs to keep it in the design",
                    ns.binding
                ));
            }
        }
    }

    // The session secret for `wrangler dev`, where the design has sessions.
    let session_targets = design.session_targets();
    let secret = if session_targets.is_empty() {
        None
    } else {
        let (holders, git_steps) = super::session::place(
            &mut plan,
            project,
            &session_targets,
            change.as_ref().is_some_and(|c| c.session),
        )?;
        Some(Secret {
            holders: session_targets.into_iter().zip(holders).collect(),
            git_steps,
        })
    };

    // The counters' class, exported from the Worker's main module.
    if project.lang.is_typescript_family() && !design.counters.is_empty() {
        let dir = ctx.dir_of(global, None)?;
        counter_export(&mut plan, project, &dir)?;
    }

    // The design and the lock.
    let kept = |text: &str, before: Option<&str>| crate::config::Edit {
        text: text.to_string(),
        status: if before == Some(text) {
            crate::config::EditStatus::Unchanged
        } else {
            crate::config::EditStatus::Changed
        },
    };
    let design_edit = kept(&design_text, ctx.design_raw.as_deref());
    plan.edited(&root, design::FILE, ctx.design_raw.clone(), design_edit);
    // Unchanged, it is the file as it is (rendering it costs as much as the
    // rest of a sync that changes nothing).
    let lock_text = match ctx.lock_raw.as_deref() {
        Some(raw) if next == ctx.lock => raw.to_string(),
        raw => crate::text::restore_line_endings(raw.unwrap_or_default(), &next.render()),
    };
    let lock_edit = kept(&lock_text, ctx.lock_raw.as_deref());
    plan.edited(&root, bases::FILE, ctx.lock_raw.clone(), lock_edit);

    // What a command's report needs, for its namespace.
    let main = match change.as_ref().map(|c| &c.record) {
        Some(Record::Namespace(ns)) => Some(ns.binding.clone()),
        Some(_) => None,
        None => design.namespaces.first().map(|n| n.binding.clone()),
    };
    let targets = main
        .as_deref()
        .and_then(|b| design.namespace(b))
        .map(Namespace::targets)
        .unwrap_or_else(|| vec![None]);
    let dir = match main.as_deref().and_then(|b| dirs.get(b)) {
        Some(dir) => dir.clone(),
        None => ctx
            .dir_of(global, None)
            .unwrap_or_else(|_| "kv".to_string()),
    };
    plan.header = Some(super::header(cwd, project, &dir));
    let run_targets = change
        .as_ref()
        .map(|c| c.targets.clone())
        .unwrap_or_else(|| {
            let mut all: Vec<Option<String>> = Vec::new();
            for target in design.namespaces.iter().flat_map(Namespace::targets) {
                if !all.contains(&target) {
                    all.push(target);
                }
            }
            all
        });
    // A command warns about its own namespace; `kvgen sync` about each.
    for ns in design
        .namespaces
        .iter()
        .filter(|ns| change.is_none() || main.as_deref() == Some(ns.binding.as_str()))
    {
        plan.warnings.extend(super::inheritance_warning(
            project,
            &ns.targets(),
            &ns.binding,
        ));
    }
    plan.warnings.extend(design.warnings.iter().cloned());
    plan.notes.extend(super::discovery_notes(cwd, project));
    plan.notes
        .extend(super::new_environments(project, &run_targets));
    let Context { project, .. } = ctx;
    Ok(Synced {
        prepared: Prepared {
            project,
            dir,
            plan,
            config,
            envs: targets,
        },
        run_targets,
        design,
        secret,
    })
}

/// Makes the Worker's main module export the counters' Durable Object
/// class (`export { Counter } from "./kv/counter";` appended, in the
/// project's style) unless it does; where kvgen cannot safely append to it,
/// a note gives the line to add.
fn counter_export(plan: &mut Plan, project: &Project, dir: &str) -> anyhow::Result<()> {
    use crate::code_check::{EntryExport, entry_export};
    let class = design::COUNTER_CLASS;
    let Some(main) = project.main.as_deref() else {
        plan.notes.push(format!(
            "the Wrangler config has no `main`: export {class} from the Worker's main module, e.g. `export {{ {class} }} from \"./{dir}/counter\";` (a Durable Object class must be exported from it)"
        ));
        return Ok(());
    };
    let look = generate::ts_look(project);
    let main_path = project.root.join(main);
    let main_dir = main_path.parent().unwrap_or(&project.root);
    let mut spec = crate::names::relative_path(&project.root.join(dir).join("counter"), main_dir);
    if !spec.starts_with("../") {
        spec = format!("./{spec}");
    }
    if look.is_some_and(|l| l.js_extensions()) {
        spec.push_str(".js");
    }
    let line = format!(
        "export {{ {class} }} from {};\n",
        serde_json::to_string(&spec).expect("strings serialize")
    );
    let line = match &look {
        Some(look) => look.apply(&line),
        None => line,
    };
    let shown = crate::names::show_path(std::path::Path::new(main));
    let source = read_text(&main_path, main)?;
    let reason = match &source {
        None => Some("it does not exist yet".to_string()),
        Some(source) => match entry_export(&main_path, source, class, &spec) {
            EntryExport::Present => return Ok(()),
            EntryExport::Missing => None,
            EntryExport::Foreign(what) => {
                return Err(crate::error::Conflict(format!(
                    "{shown} exports {what}, and kvgen's counters are a Durable Object class {class} that must be exported from it: rename your class, or remove that export if it is an earlier copy of kvgen's (nothing was written)"
                ))
                .into());
            }
            EntryExport::Unknown => Some(
                "it is not an ES module kvgen can read (a service worker, or a syntax error)"
                    .to_string(),
            ),
        },
    };
    match (reason, source) {
        (None, Some(source)) => {
            let eol = if source.ends_with("\r\n")
                || (!source.ends_with('\n') && source.contains("\r\n"))
            {
                "\r\n"
            } else {
                "\n"
            };
            let mut text = source.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push_str(eol);
            }
            text.push_str(&line.replace('\n', eol));
            plan.edited(
                &project.root,
                main,
                Some(source),
                crate::config::Edit {
                    text,
                    status: crate::config::EditStatus::Changed,
                },
            );
        }
        (reason, _) => plan.notes.push(format!(
            "add `{}` to {shown}: a Durable Object class must be exported from the Worker's main module, and kvgen left it alone ({})",
            line.trim_end(),
            reason.unwrap_or_default()
        )),
    }
    Ok(())
}

/// kvgen's counters are the Durable Object class `Counter` of the Worker: a
/// binding of the config to a `Counter` class of this Worker that is not one
/// of the design's counter bindings is the Worker's own class of that name,
/// which kvgen's would clash with (a conflict).
fn check_counter_class(design: &Design, project: &Project) -> anyhow::Result<()> {
    if design.counters.is_empty() {
        return Ok(());
    }
    let class = design::COUNTER_CLASS;
    // A Counter created with the key-value backend cannot take the SQLite
    // calls kvgen's makes; no flag can change a deployed class's storage.
    let mut places = vec![None];
    if let Some(envs) = project.settings["env"].as_object() {
        places.extend(
            envs.iter()
                .filter(|(_, t)| t.get("migrations").is_some())
                .map(|(name, _)| Some(name.as_str())),
        );
    }
    for env in places {
        if let crate::config::ClassState::KeyValue(tag) =
            crate::config::class_state(&project.settings, env, class)
        {
            let place = env.map_or(String::new(), |e| format!(" of env.{e}"));
            return Err(crate::error::Conflict(format!(
                "{}: migration {tag}{place} creates the Durable Object class {class} with the key-value storage backend (new_classes), and kvgen's {class} uses SQLite storage, which a deployed class cannot switch to: rename your class (nothing was written)",
                project.relative(&project.config)
            ))
            .into());
        }
    }
    let mut tables = vec![(None, &project.settings)];
    if let Some(envs) = project.settings["env"].as_object() {
        tables.extend(
            envs.iter()
                .map(|(name, table)| (Some(name.as_str()), table)),
        );
    }
    for (env, table) in tables {
        for binding in table["durable_objects"]["bindings"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = binding["name"].as_str().unwrap_or("");
            let own = binding["class_name"] == class && binding.get("script_name").is_none();
            if own && design.counters.iter().all(|c| c.binding != name) {
                let place = env.map_or("the top level".to_string(), |e| format!("env.{e}"));
                return Err(crate::error::Conflict(format!(
                    "{}: the Durable Object binding {name} ({place}) is bound to this Worker's own class {class}, and kvgen's counters are a class of that name: add {name} to kvgen.toml as [counters.{name}] if it is kvgen's, else rename your class (nothing was written)",
                    project.relative(&project.config)
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// The config edits of the design's bindings that are not KV namespaces:
/// rate limiters, the counters' Durable Object bindings and their class's
/// migration, and the Analytics Engine binding of the cache metrics.
fn other_binding_edits<'a>(
    design: &'a Design,
    project: &Project,
    force: bool,
) -> Vec<(Option<String>, ConfigEdit<'a>)> {
    use crate::config::{self, FieldValue, List, ListEntry};
    let mut edits: Vec<(Option<String>, ConfigEdit<'a>)> = Vec::new();
    for r in &design.ratelimits {
        for target in r.places.targets() {
            edits.push((
                target,
                Box::new(move |format, text, env| {
                    let id = config::unused_ratelimit_id(&config::read(format, text)?);
                    let want = ListEntry::new(List::Ratelimits, r.name.clone())
                        .new_only("namespace_id", FieldValue::Str(id))
                        .field(
                            "simple",
                            FieldValue::Table(vec![
                                ("limit", FieldValue::Int(r.limit as i64)),
                                ("period", FieldValue::Int(r.period as i64)),
                            ]),
                        );
                    config::ensure_entry(format, text, env, &want, force)
                }),
            ));
        }
    }
    let mut migrated: Vec<Option<String>> = Vec::new();
    for c in &design.counters {
        for target in c.places.targets() {
            edits.push((
                target.clone(),
                Box::new(move |format, text, env| {
                    let want = ListEntry::new(List::DurableObjects, c.binding.clone()).field(
                        "class_name",
                        FieldValue::Str(design::COUNTER_CLASS.to_string()),
                    );
                    config::ensure_entry(format, text, env, &want, force)
                }),
            ));
            // The migration: top level (environments inherit it), and in an
            // environment that has migrations of its own.
            let place = match target {
                Some(env) if project.settings["env"][&env].get("migrations").is_some() => Some(env),
                _ => None,
            };
            if !migrated.contains(&place) && project.settings.get("exports").is_none() {
                migrated.push(place.clone());
                edits.push((
                    place,
                    Box::new(|format, text, env| {
                        config::ensure_sqlite_class(format, text, env, design::COUNTER_CLASS)
                    }),
                ));
            }
        }
    }
    let mut metered: Vec<(Option<String>, &str)> = Vec::new();
    for ns in &design.namespaces {
        let Some(dataset) = ns.metrics.as_deref() else {
            continue;
        };
        for target in ns.targets() {
            if metered.iter().any(|(t, _)| *t == target) {
                continue;
            }
            metered.push((target.clone(), dataset));
            edits.push((
                target,
                Box::new(move |format, text, env| {
                    let want = ListEntry::new(List::AnalyticsEngine, design::METRICS_BINDING)
                        .field("dataset", FieldValue::Str(dataset.to_string()));
                    config::ensure_entry(format, text, env, &want, force)
                }),
            ));
        }
    }
    edits
}

/// What a design generates: every file of its modules (path in the project
/// -> content, and the binding of the first namespace that generates it),
/// each namespace's module folder, and for Rust the module folder's module
/// list and dependencies.
pub(super) struct Renderings {
    pub files: BTreeMap<String, (String, String)>,
    pub dirs: BTreeMap<String, String>,
    pub rust: BTreeMap<String, (Vec<String>, Vec<Dependency>)>,
}

/// Renders the modules of `ctx.design` as the project's files (TypeScript
/// in its style), one rendering per file however many namespaces want it;
/// `shown` names the design file in messages.
pub(super) fn renderings(
    ctx: &Context,
    global: &GlobalArgs,
    shown: &str,
) -> anyhow::Result<Renderings> {
    let mut wanted: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut dirs: BTreeMap<String, String> = BTreeMap::new();
    let mut rust: BTreeMap<String, (Vec<String>, Vec<Dependency>)> = BTreeMap::new();
    let project = &ctx.project;
    let design = &ctx.design;
    let lang_context = generate::lang_context(project)?;
    // The shared helpers, rendered once: every namespace with modules or
    // typed keys has them.
    let mut common: Option<Vec<(String, String)>> = None;
    let look = generate::ts_look(project);
    let common_files = |common: &mut Option<Vec<(String, String)>>| -> anyhow::Result<_> {
        if common.is_none() {
            let files = crate::templates::render_folder(
                project.lang,
                "common",
                lang_context.clone(),
                &|_| true,
            )?;
            *common = Some(generate::styled(look.as_ref(), files)?);
        }
        Ok(common.iter().flatten().cloned().collect::<Vec<_>>())
    };
    for ns in &design.namespaces {
        dirs.insert(ns.binding.clone(), ctx.dir_of(global, Some(ns))?);
    }
    // The cache modules of a folder count lookups when a namespace of that
    // folder has metrics (the option is there for all, a no-op unless
    // given); the first such namespace's binding is the default index.
    let metrics_of = |dir: &str| {
        design
            .namespaces
            .iter()
            .find(|n| n.metrics.is_some() && dirs[&n.binding] == dir)
            .map(|n| n.binding.clone())
    };
    // The crate's `worker` minor, read once with the language's context.
    let worker_minor = lang_context
        .get_attr("worker_minor")
        .ok()
        .and_then(|v| u64::try_from(v).ok());
    let newer = |what: &str| -> anyhow::Result<()> {
        if let Some(minor) = worker_minor.filter(|m| *m < 8) {
            return Err(BadInput::new(format!(
                "{shown}: {what} is generated for workers-rs 0.8 or later, and this crate depends on worker 0.{minor}: upgrade `worker` in Cargo.toml"
            ))
            .into());
        }
        Ok(())
    };
    for ns in &design.namespaces {
        let dir = dirs[&ns.binding].clone();
        if ns.modules.is_empty() {
            continue;
        }
        let metrics = metrics_of(&dir);
        if metrics.is_some() {
            newer("the cache metrics")?;
        }
        for module in [Module::Config, Module::Prefs] {
            if ns.modules.contains(&module) {
                newer(&format!("the {} module", module.word()))?;
            }
        }
        let files = render(project, ns, &lang_context, metrics.as_deref())?;
        let mut styled = generate::styled(look.as_ref(), files)?;
        styled.extend(common_files(&mut common)?);
        styled.sort_by(|a, b| a.0.cmp(&b.0));
        if project.lang == Lang::Rust {
            let entry = rust.entry(dir.clone()).or_default();
            declare(&mut entry.0, &styled);
            for dep in dependencies(ns) {
                if !entry.1.iter().any(|d| d.name == dep.name) {
                    entry.1.push(dep);
                }
            }
        }
        for (name, content) in styled {
            let path = format!("{dir}/{name}");
            match wanted.get(&path) {
                Some((other, by)) if *other != content => {
                    return Err(BadInput::new(format!(
                        "{shown}: namespaces {by} and {} both generate {path}, differently ({}); give one of them its own `dir`",
                        ns.binding,
                        difference(design, by, &ns.binding)
                    ))
                    .into());
                }
                Some(_) => {}
                None => {
                    wanted.insert(path, (content, ns.binding.clone()));
                }
            }
        }
    }
    // The typed keys: per module folder, `schema` (every type of the
    // design) and `namespaces` (the folder's namespaces with keys), on the
    // shared limits module.
    let mut keyed: BTreeMap<String, Vec<&Namespace>> = BTreeMap::new();
    for ns in design.namespaces.iter().filter(|n| !n.keys.is_empty()) {
        keyed.entry(dirs[&ns.binding].clone()).or_default().push(ns);
    }
    for (dir, namespaces) in &keyed {
        let (schema, typed) = match project.lang {
            Lang::Ts | Lang::Js => (
                crate::keys::ts_schema::schema_ts(&design.types),
                crate::keys::ts_namespaces::namespaces_ts(namespaces),
            ),
            Lang::Rust => {
                let minor = crate::rust_crate::check_worker_version(&project.root)?;
                if minor < 8 {
                    return Err(BadInput::new(format!(
                        "{shown}: the typed keys of {} are generated for workers-rs 0.8 or later, and this crate depends on worker 0.{minor}: upgrade `worker` in Cargo.toml, or take the keys tables out of the design",
                        namespaces[0].binding
                    ))
                    .into());
                }
                (
                    crate::keys::rust_schema::schema_rs(&design.types),
                    crate::keys::rust_namespaces::namespaces_rs(namespaces, &design.types),
                )
            }
        };
        let ext = project.lang.extension();
        let files = vec![
            crate::templates::Rendered {
                name: format!("schema.{ext}"),
                content: schema,
            },
            crate::templates::Rendered {
                name: format!("namespaces.{ext}"),
                content: typed,
            },
        ];
        let mut styled = generate::styled(look.as_ref(), files)?;
        styled.extend(common_files(&mut common)?);
        add_folder(
            (&mut wanted, &mut rust),
            project.lang,
            dir,
            styled,
            &namespaces[0].binding,
        );
    }
    // The rate limiters' and the counters' modules, in the design's folder.
    let mut others = Vec::new();
    if !design.ratelimits.is_empty() {
        newer("the ratelimit module")?;
        let periods: Vec<u64> = design.ratelimits.iter().map(|r| r.period).collect();
        let period = periods.iter().max().copied().unwrap_or(60);
        let limiters: Vec<Value> = design
            .ratelimits
            .iter()
            .map(|r| context! { name => r.name.clone(), limit => r.limit, period => r.period })
            .collect();
        others.extend(crate::templates::render_folder(
            project.lang,
            "ratelimit",
            context! { period, limiters, ..lang_context.clone() },
            &|_| true,
        )?);
    }
    if !design.counters.is_empty() {
        newer("the counter module")?;
        others.extend(crate::templates::render_folder(
            project.lang,
            "counter",
            lang_context.clone(),
            &|_| true,
        )?);
    }
    if !others.is_empty() {
        let dir = ctx.dir_of(global, None)?;
        let owner = design
            .ratelimits
            .first()
            .map(|r| r.name.clone())
            .or_else(|| design.counters.first().map(|c| c.binding.clone()))
            .unwrap_or_default();
        let mut styled = generate::styled(look.as_ref(), others)?;
        styled.extend(common_files(&mut common)?);
        add_folder((&mut wanted, &mut rust), project.lang, &dir, styled, &owner);
    }
    // Two folders of the design that are one folder on disk (a link) would
    // have their files written twice over.
    let mut real: BTreeMap<std::path::PathBuf, (&str, &str)> = BTreeMap::new();
    for ns in design
        .namespaces
        .iter()
        .filter(|n| !n.modules.is_empty() || !n.keys.is_empty())
    {
        let dir = dirs[&ns.binding].as_str();
        let Some(path) = real_path(&project.root.join(dir)) else {
            continue;
        };
        match real.get(&path) {
            Some((other_dir, other)) if *other_dir != dir => {
                return Err(BadInput::new(format!(
                    "{shown}: the module folders of {other} ({other_dir}) and {} ({dir}) are one folder on disk (a link); give both the same `dir`",
                    ns.binding
                ))
                .into());
            }
            Some(_) => {}
            None => {
                real.insert(path, (dir, ns.binding.as_str()));
            }
        }
    }
    if rust.len() > 1 {
        let dirs: Vec<&str> = rust.keys().map(String::as_str).collect();
        return Err(BadInput::new(format!(
            "{shown}: a Rust crate gets one module folder, and the design gives {}; use one `dir`",
            dirs.join(" and ")
        ))
        .into());
    }
    Ok(Renderings {
        files: wanted,
        dirs,
        rust,
    })
}

/// Generated files: path in the project -> (content, the binding of the
/// first namespace that generates it).
type Wanted = BTreeMap<String, (String, String)>;

/// Per Rust module folder: its module list and the dependencies they need.
type RustFolders = BTreeMap<String, (Vec<String>, Vec<Dependency>)>;

/// The files of a module folder (`owner` the binding they are generated
/// for) in what a design generates; a file wanted already keeps its first
/// rendering. For Rust, their modules are declared in the folder's list.
fn add_folder(
    (wanted, rust): (&mut Wanted, &mut RustFolders),
    lang: Lang,
    dir: &str,
    files: Vec<(String, String)>,
    owner: &str,
) {
    if lang == Lang::Rust {
        declare(&mut rust.entry(dir.to_string()).or_default().0, &files);
    }
    for (name, content) in files {
        wanted
            .entry(format!("{dir}/{name}"))
            .or_insert_with(|| (content, owner.to_string()));
    }
}

/// Adds the Rust modules among `files` to a module folder's list, once each.
fn declare(modules: &mut Vec<String>, files: &[(String, String)]) {
    for (name, _) in files {
        if let Some(module) = name.strip_suffix(".rs")
            && !modules.iter().any(|m| m == module)
        {
            modules.push(module.to_string());
        }
    }
}

/// The real path of `path`, which need not exist yet: its nearest existing
/// folder with links resolved, then the rest.
fn real_path(path: &Path) -> Option<std::path::PathBuf> {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return Some(rest.iter().rev().fold(real, |p, part| p.join(part)));
        }
        rest.push(at.file_name()?.to_os_string());
        at = at.parent()?;
    }
}

/// What differs between two namespaces that render one file differently.
fn difference(design: &Design, a: &str, b: &str) -> String {
    let (Some(a), Some(b)) = (design.namespace(a), design.namespace(b)) else {
        return "their options differ".to_string();
    };
    let ttl = |n: &Namespace| match n.default_ttl {
        Some(Ttl::Seconds(s)) => s.to_string(),
        Some(Ttl::Never) => "\"none\"".to_string(),
        None => "unset".to_string(),
    };
    if ttl(a) != ttl(b) {
        format!("default_ttl {} and {}", ttl(a), ttl(b))
    } else {
        "their options differ".to_string()
    }
}

/// The Rust dependencies a namespace's modules need beyond the shared ones.
fn dependencies(ns: &Namespace) -> Vec<Dependency> {
    let mut deps = Vec::new();
    for module in &ns.modules {
        match module {
            Module::Session => deps.extend_from_slice(super::session::RUST_DEPENDENCIES),
            Module::Flags => deps.push(super::flags::SHA2),
            _ => {}
        }
    }
    deps
}

/// The files of a namespace's modules, rendered with its options (the
/// shared `common` files apart).
fn render(
    project: &Project,
    ns: &Namespace,
    lang_context: &Value,
    metrics: Option<&str>,
) -> anyhow::Result<Vec<crate::templates::Rendered>> {
    let mut out: Vec<crate::templates::Rendered> = Vec::new();
    let looks_up = ns
        .modules
        .iter()
        .any(|m| matches!(m, Module::Aside | Module::Swr));
    if let (Some(binding), true) = (metrics, looks_up) {
        out.extend(crate::templates::render_folder(
            project.lang,
            "metrics",
            context! { metrics_binding => binding, ..lang_context.clone() },
            &|_| true,
        )?);
    }
    for command in [
        "create", "cache", "flags", "session", "bulk", "config", "prefs",
    ] {
        let modules: Vec<Module> = ns
            .modules
            .iter()
            .copied()
            .filter(|m| m.command() == command)
            .collect();
        if modules.is_empty() {
            continue;
        }
        let ttl = |fallback: u64| match ns.default_ttl {
            Some(Ttl::Seconds(s)) => Value::from(s),
            Some(Ttl::Never) => Value::from(()),
            None => Value::from(fallback),
        };
        let own = match command {
            "create" => context! { default_ttl => ttl(DEFAULT_TTL) },
            "cache" => context! {
                default_ttl => ttl(DEFAULT_TTL),
                metrics => metrics.is_some(),
            },
            "session" => context! {
                default_ttl => ttl(super::session::DEFAULT_TTL),
                cookie_name => ns.cookie.as_deref().unwrap_or(super::session::DEFAULT_COOKIE),
            },
            _ => context! {},
        };
        let keep = |name: &str| {
            let stem = name.split('.').next().unwrap_or(name).replace('_', "-");
            modules.iter().all(|m| m.stem().is_none())
                || modules.iter().any(|m| m.stem() == Some(stem.as_str()))
        };
        let files = crate::templates::render_folder(
            project.lang,
            command,
            context! { ..own, ..lang_context.clone() },
            &keep,
        )?;
        for file in files {
            if !out.iter().any(|f| f.name == file.name) {
                out.push(file);
            }
        }
    }
    Ok(out)
}

/// `kvgen sync [--check]`.
pub fn run(cwd: &Path, global: &GlobalArgs, args: &SyncArgs) -> anyhow::Result<u8> {
    if global.dir.is_some() || global.binding.is_some() || global.env.is_some() || global.all_envs {
        return Err(BadInput::new(
            "kvgen sync makes the project match kvgen.toml as it is: --dir, --binding, --env and --all-envs belong to the commands that change it (or edit kvgen.toml, then run kvgen sync)",
        )
        .into());
    }
    let check = args.check;
    let global = &GlobalArgs {
        dry_run: global.dry_run || check,
        ..global.clone()
    };
    let ctx = begin(cwd, global)?;
    let Synced {
        mut prepared,
        design,
        secret,
        ..
    } = plan(cwd, global, ctx, None)?;
    let mut steps = Vec::new();
    for ns in &design.namespaces {
        steps.extend(generate::namespace_steps(
            &prepared,
            &ns.targets(),
            global,
            &ns.binding,
            &ns.title(),
        ));
    }
    let bindings: Vec<&str> = design
        .namespaces
        .iter()
        .map(|n| n.binding.as_str())
        .collect();
    let from = prepared
        .plan
        .header
        .as_ref()
        .map(|h| h.from.clone())
        .unwrap_or_else(|| prepared.project.root.clone());
    steps.extend(crate::env_types::steps(
        &prepared.project,
        &from,
        &super::config_arg(global, "-c"),
        &bindings,
        None,
    ));
    if let Some(secret) = secret {
        steps.extend(super::session::secret_steps(
            &prepared.project,
            global,
            &from,
            &secret,
        ));
    }
    prepared.plan.next_steps = steps;
    if !check {
        return super::finish("sync", prepared.plan, global);
    }
    let mut plan = prepared.plan;
    plan.files.sort_by(|a, b| a.path.cmp(&b.path));
    // The same checks as a sync (every file inside the project, regular).
    plan.check(true)?;
    // The session secret for `wrangler dev` lives in a file git ignores, so
    // a fresh clone (CI) lacks it: not something the repository is out of
    // date about.
    let local: Vec<String> = plan
        .files
        .iter()
        .filter(|f| f.status.writes() && crate::plan::is_secret_file(&f.path))
        .map(|f| super::shown_path(&plan, &f.path))
        .collect();
    let stale = out_of_date(&plan);
    let code = if stale.is_empty() {
        EXIT_OK
    } else {
        EXIT_CONFLICT
    };
    if global.json {
        let files: Vec<_> = stale
            .iter()
            .map(|(path, status)| serde_json::json!({ "path": path, "status": status }))
            .collect();
        super::print_json(
            &serde_json::json!({
                "command": "sync --check",
                "up_to_date": stale.is_empty(),
                "exit_code": code,
                "out_of_date": files,
                "local_only": local,
            }),
            false,
        )?;
        return Ok(code);
    }
    let mut out = String::new();
    if stale.is_empty() {
        out.push_str(
            "kvgen.toml, the Wrangler config and the generated code agree: nothing to sync.\n",
        );
    } else {
        out.push_str("Out of date with kvgen.toml (run `kvgen sync`):\n");
        for (path, status) in &stale {
            out.push_str(&format!("{:>10}  {path}\n", status.word()));
        }
    }
    if !local.is_empty() {
        out.push_str(&format!(
            "\nnote: {} would get a SESSION_SECRET for wrangler dev; a local file git does not hold, so not counted (run `kvgen sync` on a machine that runs wrangler dev)\n",
            local.join(", ")
        ));
    }
    super::print_report(&out, false);
    Ok(code)
}

/// The files a sync would change, with their status: what `kvgen sync
/// --check` reports (the session secret's local file left out, since a
/// fresh clone never has it).
fn out_of_date(plan: &Plan) -> Vec<(String, Status)> {
    plan.files
        .iter()
        .filter(|f| f.status != Status::Identical && f.status != Status::Skip)
        .filter(|f| !(f.status.writes() && crate::plan::is_secret_file(&f.path)))
        .map(|f| (super::shown_path(plan, &f.path), f.status))
        .collect()
}

/// The files `kvgen sync --check` would list, with their status, planned
/// without writing anything.
pub(super) fn stale(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Vec<String>> {
    let global = &GlobalArgs {
        dry_run: true,
        ..global.clone()
    };
    let ctx = begin(cwd, global)?;
    let Synced { prepared, .. } = plan(cwd, global, ctx, None)?;
    let mut plan = prepared.plan;
    plan.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out_of_date(&plan)
        .into_iter()
        .map(|(path, status)| format!("{path} ({})", status.word()))
        .collect())
}
