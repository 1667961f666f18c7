//! THREAD (RFC 5256 §2.1 ORDEREDSUBJECT and §2.2 REFERENCES).

use std::collections::HashMap;
use std::num::NonZeroU32;

use sansmail_mime::Message;

use super::Metadata;
use super::sort::{message_base_subject, sent_time};
use crate::types::Thread;

/// One message to thread: its number, parsed form and metadata.
pub type ThreadItem<'m, 'a> = (NonZeroU32, &'m Message<'a>, &'m Metadata);

/// ORDEREDSUBJECT: messages grouped by base subject in sent-date order; the
/// first of a group is the parent of all the others; groups ordered by
/// their first message. Threads hold UIDs.
pub fn thread_ordered_subject(items: &[ThreadItem<'_, '_>]) -> Vec<Thread> {
    let mut sorted: Vec<(String, i64, NonZeroU32, NonZeroU32)> = items
        .iter()
        .map(|(seq, m, meta)| {
            (
                message_base_subject(m).0.to_ascii_uppercase(),
                sent_time(m, meta),
                *seq,
                meta.uid,
            )
        })
        .collect();
    sorted.sort();
    let mut groups: Vec<Vec<(i64, NonZeroU32, NonZeroU32)>> = Vec::new();
    let mut last: Option<String> = None;
    for (subject, date, seq, uid) in sorted {
        if last.as_ref() != Some(&subject) {
            groups.push(Vec::new());
            last = Some(subject);
        }
        if let Some(g) = groups.last_mut() {
            g.push((date, seq, uid));
        }
    }
    groups.sort_by_key(|g| (g[0].0, g[0].1));
    // The first message is the parent; all the others are its children,
    // siblings of each other (RFC 5256 §2.1). One child is written as a chain.
    groups
        .into_iter()
        .map(|g| {
            let mut uids = g.into_iter().map(|(_, _, uid)| uid);
            let first = uids.next().expect("groups are never empty");
            let rest: Vec<NonZeroU32> = uids.collect();
            match rest.len() {
                0 | 1 => Thread {
                    members: std::iter::once(first).chain(rest).collect(),
                    children: Vec::new(),
                },
                _ => Thread {
                    members: vec![first],
                    children: rest
                        .into_iter()
                        .map(|uid| Thread {
                            members: vec![uid],
                            children: Vec::new(),
                        })
                        .collect(),
                },
            }
        })
        .collect()
}

/// A node of the REFERENCES algorithm: a message, or a dummy for an id
/// only seen in references.
#[derive(Debug, Default)]
struct Node {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Forest {
    nodes: Vec<Node>,
}

impl Forest {
    fn is_ancestor(&self, ancestor: usize, mut node: usize) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.nodes[node].parent {
                Some(p) => node = p,
                None => return false,
            }
        }
    }

    fn unlink(&mut self, node: usize) {
        if let Some(p) = self.nodes[node].parent.take() {
            self.nodes[p].children.retain(|&c| c != node);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }
}

/// REFERENCES: threads from Message-ID, References and In-Reply-To, then
/// merged by base subject. Threads hold UIDs.
pub fn thread_references(items: &[ThreadItem<'_, '_>]) -> Vec<Thread> {
    let mut forest = Forest { nodes: Vec::new() };
    let mut by_id: HashMap<String, usize> = HashMap::new();
    fn node_for(forest: &mut Forest, by_id: &mut HashMap<String, usize>, id: &str) -> usize {
        *by_id.entry(id.to_string()).or_insert_with(|| {
            forest.nodes.push(Node::default());
            forest.nodes.len() - 1
        })
    }
    for (i, (_, m, _)) in items.iter().enumerate() {
        let header = &m.root.header;
        let mut refs = header.ids("references");
        if refs.is_empty() {
            refs = header.ids("in-reply-to").into_iter().take(1).collect();
        }
        // (1A) link the references in order, without loops or re-parenting.
        let mut prev: Option<usize> = None;
        for r in &refs {
            let n = node_for(&mut forest, &mut by_id, r);
            if let Some(p) = prev
                && forest.nodes[n].parent.is_none()
                && !forest.is_ancestor(n, p)
            {
                forest.link(p, n);
            }
            prev = Some(n);
        }
        // (1B) the message's own node; a missing or repeated id gets a unique one.
        let own = header.message_id();
        let node = match own {
            Some(id)
                if by_id
                    .get(&id)
                    .is_none_or(|&n| forest.nodes[n].message.is_none()) =>
            {
                node_for(&mut forest, &mut by_id, &id)
            }
            _ => {
                forest.nodes.push(Node::default());
                forest.nodes.len() - 1
            }
        };
        forest.nodes[node].message = Some(i);
        // (1C) the last reference is its parent.
        forest.unlink(node);
        if let Some(p) = prev
            && !forest.is_ancestor(node, p)
        {
            forest.link(p, node);
        }
    }
    // (2) roots; (4) prune dummies.
    let roots: Vec<usize> = (0..forest.nodes.len())
        .filter(|&n| forest.nodes[n].parent.is_none())
        .collect();
    let mut roots = prune(&mut forest, roots, true);
    // (5) sort the roots, then (6) merge roots with the same base subject.
    sort_nodes(&forest, &mut roots, items);
    let subject_of = |forest: &Forest, n: usize| -> Option<(String, bool)> {
        let node = &forest.nodes[n];
        let i = node
            .message
            .or_else(|| node.children.first().and_then(|&c| forest.nodes[c].message))?;
        let (s, marked) = message_base_subject(items[i].1);
        (!s.is_empty()).then(|| (s.to_ascii_uppercase(), marked))
    };
    let mut table: HashMap<String, usize> = HashMap::new();
    for &r in &roots {
        let Some((s, marked)) = subject_of(&forest, r) else {
            continue;
        };
        match table.get(&s) {
            None => {
                table.insert(s, r);
            }
            Some(&t) => {
                let t_dummy = forest.nodes[t].message.is_none();
                let r_dummy = forest.nodes[r].message.is_none();
                let t_marked = subject_of(&forest, t).is_some_and(|x| x.1);
                if !t_dummy && (r_dummy || (t_marked && !marked)) {
                    table.insert(s, r);
                }
            }
        }
    }
    let mut merged: Vec<usize> = Vec::new();
    for r in roots {
        let Some((s, marked)) = subject_of(&forest, r) else {
            merged.push(r);
            continue;
        };
        let t = table[&s];
        if t == r {
            merged.push(r);
            continue;
        }
        let t_dummy = forest.nodes[t].message.is_none();
        let r_dummy = forest.nodes[r].message.is_none();
        let t_marked = subject_of(&forest, t).is_some_and(|x| x.1);
        if t_dummy && r_dummy {
            for c in std::mem::take(&mut forest.nodes[r].children) {
                forest.nodes[c].parent = None;
                forest.link(t, c);
            }
        } else if t_dummy {
            forest.link(t, r);
        } else if r_dummy {
            // The table's message joins this dummy, which takes its place.
            forest.link(r, t);
            table.insert(s, r);
            merged.retain(|&x| x != t);
            merged.push(r);
        } else if marked && !t_marked {
            forest.link(t, r);
        } else {
            // Neither is the reply of the other: a new dummy holds both.
            forest.nodes.push(Node::default());
            let d = forest.nodes.len() - 1;
            forest.link(d, t);
            forest.link(d, r);
            table.insert(s, d);
            merged.retain(|&x| x != t);
            merged.push(d);
        }
    }
    // (7) sort children everywhere, and the roots again.
    sort_tree(&mut forest, &merged, items);
    sort_nodes(&forest, &mut merged, items);
    merged
        .iter()
        .filter_map(|&r| to_thread(&forest, r, items))
        .collect()
}

/// Removes dummies without children, and those that are not roots with
/// several children (their children move up). Returns the nodes to keep
/// in place of `nodes`.
fn prune(forest: &mut Forest, nodes: Vec<usize>, root_level: bool) -> Vec<usize> {
    let mut out = Vec::new();
    for n in nodes {
        let children = std::mem::take(&mut forest.nodes[n].children);
        let kept = prune(forest, children, false);
        for &c in &kept {
            forest.nodes[c].parent = Some(n);
        }
        forest.nodes[n].children = kept;
        let dummy = forest.nodes[n].message.is_none();
        let count = forest.nodes[n].children.len();
        if dummy && count == 0 {
            continue;
        }
        if dummy && !(root_level && count > 1) {
            let children = std::mem::take(&mut forest.nodes[n].children);
            for &c in &children {
                forest.nodes[c].parent = if root_level {
                    None
                } else {
                    forest.nodes[n].parent
                };
            }
            out.extend(children);
            continue;
        }
        out.push(n);
    }
    out
}

/// The sent date of a node: its message's, or its first child's.
fn first_date(forest: &Forest, n: usize, items: &[ThreadItem<'_, '_>]) -> (i64, u32) {
    let node = &forest.nodes[n];
    match node.message {
        Some(i) => (sent_time(items[i].1, items[i].2), items[i].0.get()),
        None => node
            .children
            .iter()
            .map(|&c| first_date(forest, c, items))
            .min()
            .unwrap_or((0, 0)),
    }
}

fn sort_nodes(forest: &Forest, nodes: &mut [usize], items: &[ThreadItem<'_, '_>]) {
    nodes.sort_by_key(|&n| first_date(forest, n, items));
}

fn sort_tree(forest: &mut Forest, nodes: &[usize], items: &[ThreadItem<'_, '_>]) {
    for &n in nodes {
        let mut children = std::mem::take(&mut forest.nodes[n].children);
        sort_tree(forest, &children, items);
        sort_nodes(forest, &mut children, items);
        forest.nodes[n].children = children;
    }
}

fn to_thread(forest: &Forest, n: usize, items: &[ThreadItem<'_, '_>]) -> Option<Thread> {
    let node = &forest.nodes[n];
    let children: Vec<Thread> = node
        .children
        .iter()
        .filter_map(|&c| to_thread(forest, c, items))
        .collect();
    let members = node.message.map(|i| items[i].2.uid).into_iter().collect();
    Some(crate::codec::normalize_thread(Thread { members, children }))
}
