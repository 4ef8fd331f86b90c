//! Copying a fixture folder (a shipped config, an archive written by an
//! older build) into a test's own temporary folder, so that a test never
//! writes into the repository.

use std::path::Path;

/// Copies the folder `from` into `to` (created if missing), recursively.
/// Panics naming the path that could not be read or written.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read an entry of {}: {e}", from.display()));
        let target = to.join(entry.file_name());
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", entry.path().display(), target.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_folder_is_copied_with_its_subfolders() {
        let from = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join("a/b")).unwrap();
        std::fs::write(from.path().join("top.txt"), "top").unwrap();
        std::fs::write(from.path().join("a/b/deep.txt"), "deep").unwrap();
        let to = tempfile::tempdir().unwrap();
        super::copy_dir(from.path(), &to.path().join("copy"));
        assert_eq!(std::fs::read_to_string(to.path().join("copy/top.txt")).unwrap(), "top");
        assert_eq!(std::fs::read_to_string(to.path().join("copy/a/b/deep.txt")).unwrap(), "deep");
    }
}
