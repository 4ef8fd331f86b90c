//! One base for every relative path in the configuration: the folder the
//! configuration file is in. `data_dir`, the lexicons and the gazetteer,
//! `http.token_file`, `bus.ca_file` and `bus.sasl_password_file`,
//! `smtp.password_file` and `smtp.ca_file`, and each webhook's
//! `secret_file` are resolved against it once, when the file is read, so
//! the rest of onrust only sees absolute paths and a command run from
//! another folder reads and writes the same files. An absolute path stays
//! as it is.

use std::path::{Path, PathBuf};

/// The folder relative paths in a configuration file are resolved against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathBase(PathBuf);

impl PathBase {
    /// The folder `config_file` is in, made absolute (against the working
    /// directory, once, when a relative `--config` is given).
    pub fn of(config_file: &Path) -> Self {
        let dir = match config_file.parent() {
            // `onrust.toml` alone: the working directory.
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Only fails when the working directory cannot be read; then the
        // folder as given is still right for as long as this process runs.
        Self(std::path::absolute(&dir).unwrap_or(dir))
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// `path` as the configuration means it: relative to the folder, or absolute as written.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.0.join(path)
    }

    /// Resolves `path` in place, if there is one.
    pub fn resolve_in_place(&self, path: &mut Option<PathBuf>) {
        if let Some(path) = path {
            *path = self.resolve(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_the_config_files_folders_and_absolute_ones_stay() {
        let base = PathBase::of(Path::new("/etc/onrust/onrust.toml"));
        assert_eq!(base.resolve(Path::new("themes")), Path::new("/etc/onrust/themes"));
        assert_eq!(base.resolve(Path::new("../data")), Path::new("/etc/onrust/../data"));
        assert_eq!(base.resolve(Path::new("/var/lib/onrust")), Path::new("/var/lib/onrust"));
        let mut token = Some(PathBuf::from("secrets/token"));
        base.resolve_in_place(&mut token);
        assert_eq!(token.as_deref(), Some(Path::new("/etc/onrust/secrets/token")));
        // A relative --config: its folder under the working directory, as an absolute path.
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(PathBase::of(Path::new("config/onrust.toml")).dir(), cwd.join("config"));
        assert_eq!(PathBase::of(Path::new("onrust.toml")).dir(), cwd);
    }
}
