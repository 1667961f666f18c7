//! Noticing what other programs do to the folders we have open (Postfix or
//! Dovecot's LDA delivering into `new/`, a mail client renaming files in
//! `cur/`), through the kernel's file notifications (inotify on Linux).
//!
//! Our own renames, links and removals cause notifications too; each
//! operation first says which paths it is about to touch ([`Expected`]),
//! so only the others wake the folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::backend::{Wake, WatchGuard};

/// How long a path we touch stays expected: its notifications come well within.
const EXPECTED_FOR: Duration = Duration::from_secs(10);

/// Paths one folder's own operations are about to touch.
#[derive(Debug, Default)]
pub struct Expected {
    paths: Mutex<HashMap<PathBuf, Instant>>,
}

impl Expected {
    /// Notes a path we are about to create, rename or remove.
    pub fn add(&self, path: PathBuf) {
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if paths.len() > 512 {
            paths.retain(|_, at| now.duration_since(*at) < EXPECTED_FOR);
        }
        paths.insert(path, now);
    }

    fn expects(&self, path: &Path) -> bool {
        let paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        paths
            .get(path)
            .is_some_and(|at| at.elapsed() < EXPECTED_FOR)
    }
}

struct Target {
    wake: Wake,
    expected: Arc<Expected>,
}

type Targets = Arc<Mutex<HashMap<PathBuf, Arc<Target>>>>;

/// One notification watcher for a whole store.
pub struct Watcher {
    inner: Mutex<notify::RecommendedWatcher>,
    targets: Targets,
}

impl Watcher {
    /// A watcher, or `None` when the system gives none (then folders are
    /// looked at again only when asked).
    pub fn new() -> Option<Arc<Watcher>> {
        let targets: Targets = Arc::default();
        let routes = targets.clone();
        let handler = move |event: notify::Result<notify::Event>| route(&routes, event);
        match notify::recommended_watcher(handler) {
            Ok(inner) => Some(Arc::new(Watcher {
                inner: Mutex::new(inner),
                targets,
            })),
            Err(e) => {
                tracing::warn!(error = %e, "no file notifications: outside changes are seen only on a rescan");
                None
            }
        }
    }

    /// Watches `dirs` (not recursively) for one folder until the guard drops.
    pub fn watch(
        self: &Arc<Self>,
        dirs: Vec<PathBuf>,
        wake: Wake,
        expected: Arc<Expected>,
    ) -> Option<Box<dyn WatchGuard>> {
        let target = Arc::new(Target { wake, expected });
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for dir in &dirs {
            if let Err(e) = inner.watch(dir, RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch a folder");
                for done in &dirs {
                    let _ = inner.unwatch(done);
                }
                return None;
            }
            self.targets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(dir.clone(), target.clone());
        }
        Some(Box::new(Guard {
            watcher: Arc::downgrade(self),
            dirs,
        }))
    }
}

fn route(targets: &Targets, event: notify::Result<notify::Event>) {
    let event = match event {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "file notification error; looking at every open folder again");
            let all: Vec<Arc<Target>> = targets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .cloned()
                .collect();
            for t in all {
                (t.wake)();
            }
            return;
        }
    };
    if matches!(event.kind, EventKind::Access(_)) {
        return;
    }
    // Wakes run after the lock is released: one may drop the last
    // reference to a folder, whose guard then takes the lock.
    let to_wake: Vec<Arc<Target>> = {
        let map = targets.lock().unwrap_or_else(|e| e.into_inner());
        if event.need_rescan() {
            map.values().cloned().collect()
        } else {
            event
                .paths
                .iter()
                .filter_map(|path| {
                    let target = map.get(path.parent()?)?;
                    (!target.expected.expects(path)).then(|| target.clone())
                })
                .collect()
        }
    };
    for target in to_wake {
        (target.wake)();
    }
}

struct Guard {
    watcher: Weak<Watcher>,
    dirs: Vec<PathBuf>,
}

impl WatchGuard for Guard {}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(watcher) = self.watcher.upgrade() else {
            return;
        };
        // Targets first, without holding the watcher: `unwatch` waits for
        // the notification thread, which may be waiting for the targets.
        {
            let mut targets = watcher.targets.lock().unwrap_or_else(|e| e.into_inner());
            for dir in &self.dirs {
                targets.remove(dir);
            }
        }
        let mut inner = watcher.inner.lock().unwrap_or_else(|e| e.into_inner());
        for dir in &self.dirs {
            let _ = inner.unwatch(dir);
        }
    }
}
