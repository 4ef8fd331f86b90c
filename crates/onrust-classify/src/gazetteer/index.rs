//! Every known name as a path of words in one trie, so a message is read
//! once: each token is one look-up of its word, then one per following word
//! while a longer name could still match. A common first word ("de", "station")
//! costs no more than a rare one, however many names start with it.

use rustc_hash::FxHashMap;

/// The trie's root node.
pub(crate) const ROOT: u32 = 0;

#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    /// The node after each word a name starts with: most tokens of a message
    /// start no name, and this answers them in one look-up.
    firsts: FxHashMap<Box<str>, u32>,
    /// Each distinct normalised word of any name, numbered.
    words: FxHashMap<Box<str>, u32>,
    /// (node, word) → the node after that word.
    edges: FxHashMap<(u32, u32), u32>,
    /// Per node: the range in `candidates` of the places whose name ends there.
    ends: Vec<(u32, u32)>,
    /// Entry ids, grouped by the node their name ends at.
    candidates: Vec<u32>,
    /// The most words of any name.
    pub longest: usize,
}

impl NameIndex {
    /// Builds the trie from (name as word numbers, entry id) pairs; `words`
    /// numbers every word the names use (it becomes the index's own table).
    pub fn build<'a>(words: FxHashMap<Box<str>, u32>, names: impl Iterator<Item = (&'a [u32], u32)>) -> NameIndex {
        let mut index = NameIndex { ends: vec![(0, 0)], words, ..NameIndex::default() };
        let mut at_node: Vec<Vec<u32>> = vec![Vec::new()];
        for (name, entry) in names {
            let mut node = ROOT;
            for &word in name {
                let next_node = at_node.len() as u32;
                node = *index.edges.entry((node, word)).or_insert(next_node);
                if node == next_node {
                    at_node.push(Vec::new());
                }
            }
            index.longest = index.longest.max(name.len());
            if let Some(list) = at_node.get_mut(node as usize) {
                list.push(entry);
            }
        }
        let mut spelled: Vec<Option<&str>> = vec![None; index.words.len()];
        for (text, &word) in &index.words {
            if let Some(slot) = spelled.get_mut(word as usize) {
                *slot = Some(text);
            }
        }
        let mut firsts = FxHashMap::default();
        for (&(node, word), &child) in &index.edges {
            if node == ROOT
                && let Some(Some(text)) = spelled.get(word as usize)
            {
                firsts.insert(Box::<str>::from(*text), child);
            }
        }
        index.firsts = firsts;
        index.ends = Vec::with_capacity(at_node.len());
        for list in at_node {
            let start = index.candidates.len() as u32;
            index.candidates.extend(list);
            index.ends.push((start, index.candidates.len() as u32));
        }
        index.firsts.shrink_to_fit();
        index.words.shrink_to_fit();
        index.edges.shrink_to_fit();
        index.candidates.shrink_to_fit();
        index
    }

    /// The node after a name's first word, if any name starts with it.
    pub fn first(&self, norm: &str) -> Option<u32> {
        self.firsts.get(norm).copied()
    }

    /// The number of a word, if any name has it.
    pub fn word(&self, norm: &str) -> Option<u32> {
        self.words.get(norm).copied()
    }

    /// The node after `word`, if a name continues that way.
    pub fn child(&self, node: u32, word: u32) -> Option<u32> {
        self.edges.get(&(node, word)).copied()
    }

    /// The entries whose name ends at `node` (empty inside a longer name).
    pub fn ending_at(&self, node: u32) -> &[u32] {
        self.ends
            .get(node as usize)
            .and_then(|&(start, end)| self.candidates.get(start as usize..end as usize))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers the words of `names` as the gazetteer's loader does.
    fn numbered(names: &[&str]) -> (FxHashMap<Box<str>, u32>, Vec<Vec<u32>>) {
        let mut words: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let keys = names
            .iter()
            .map(|name| {
                name.split(' ')
                    .map(|w| {
                        let next = words.len() as u32;
                        *words.entry(w.into()).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        (words, keys)
    }

    #[test]
    fn longer_names_share_their_prefix() {
        let (words, names) = numbered(&["wijk bij duurstede", "wijk", "utrecht", "wijk"]);
        let index = NameIndex::build(words, names.iter().enumerate().map(|(i, n)| (n.as_slice(), i as u32)));
        let wijk = index.word("wijk").and_then(|w| index.child(ROOT, w)).expect("wijk is a name");
        assert_eq!(index.ending_at(wijk), [1, 3], "one name, two places");
        let bij = index.word("bij").and_then(|w| index.child(wijk, w)).expect("wijk bij …");
        assert!(index.ending_at(bij).is_empty(), "no name ends at 'wijk bij'");
        let end = index.word("duurstede").and_then(|w| index.child(bij, w)).expect("wijk bij duurstede");
        assert_eq!(index.ending_at(end), [0]);
        assert_eq!(index.longest, 3);
        assert_eq!(index.first("wijk"), Some(wijk));
        assert_eq!(index.first("duurstede"), None, "no name starts with it");
        assert_eq!(index.word("amsterdam"), None);
    }
}
