//! A listing taken a few groups of day folders at a time, in an order the caller chooses:
//! what a command that needs its objects in order (an index build, group by group; an
//! export, in key order) reads without holding the archive's listing. The day folders are
//! found first ([`trailscan_archive::find_day_folders`]), then listed group after group on a
//! thread of their own, a few groups ahead of the work.

use std::sync::mpsc;

use trailscan_archive::{in_listing_threads, list_day_folders, Listing, ObjectStore};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::Selection;

use crate::report::Reporter;

/// Groups listed ahead of the one being worked on: enough that the next group's round trips
/// overlap the work on this one, few enough that what waits is a few months of one region.
pub(crate) const GROUPS_AHEAD: usize = 2;

/// A group's day folders, each with the kind of files it holds.
pub(crate) type DayFolders = Vec<(ObjectKind, String)>;

/// `selection` for files of `kind`.
pub(crate) fn of_kind(selection: &Selection, kind: ObjectKind) -> Selection {
    Selection {
        kind,
        ..selection.clone()
    }
}

/// Lists `groups` one after another, each group's day folders in parallel, on a thread of its
/// own, and hands `work` each group's listing (its objects sorted by key, and what it skipped
/// or could not list, each problem reported) in the order given, [`GROUPS_AHEAD`] groups
/// ahead of it at most. When `work` returns before the last group, the listing stops.
pub(crate) fn in_order<G: Send, R>(
    store: &dyn ObjectStore,
    selection: &Selection,
    groups: impl IntoIterator<Item = (G, DayFolders)> + Send,
    reporter: &dyn Reporter,
    work: impl FnOnce(&mut dyn Iterator<Item = (G, Listing)>) -> R,
) -> R {
    // `None` once every group is listed: a listing thread that stopped before it (a panic)
    // must not pass for a listing that ended, or the work would finish on part of it.
    let (ready, listed) = mpsc::sync_channel::<Option<(G, Listing)>>(GROUPS_AHEAD);
    std::thread::scope(|scope| {
        // One pool of listing threads for every group (across a network, a thread per request
        // in flight), not one made for each.
        scope.spawn(move || {
            in_listing_threads(store, move || {
                for (group, folders) in groups {
                    let mut listing = Listing::default();
                    for kind in [ObjectKind::Log, ObjectKind::Insight] {
                        let of_kind_folders: Vec<String> = (folders.iter())
                            .filter(|(k, _)| *k == kind)
                            .map(|(_, f)| f.clone())
                            .collect();
                        if !of_kind_folders.is_empty() {
                            let part =
                                list_day_folders(store, &of_kind(selection, kind), of_kind_folders);
                            listing.add_part(part);
                        }
                    }
                    listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
                    for problem in &listing.problems {
                        reporter.problem(problem);
                    }
                    // The receiver is gone only when the work is done early.
                    if ready.send(Some((group, listing))).is_err() {
                        return;
                    }
                }
                let _ = ready.send(None);
            })
        });
        // The receiver is moved into the groups, which `work` drops when it returns: the
        // lister's next hand-over then fails, and it stops (else the scope would wait for a
        // lister blocked on a full channel).
        let mut ended = false;
        let mut groups = std::iter::from_fn(move || match ended {
            true => None,
            false => match listed.recv() {
                Ok(Some(group)) => Some(group),
                Ok(None) => {
                    ended = true;
                    None
                }
                Err(_) => panic!("the listing's thread stopped before the end of the listing"),
            },
        });
        let result = work(&mut groups);
        drop(groups);
        result
    })
}
