//! The commit a tree is at, read from `.git` without running git.

use std::path::{Path, PathBuf};

/// The commit checked out in the repository holding `root` (found by
/// walking up from it), or `None` outside a repository or on a detached
/// state this reader does not follow.
pub(crate) fn head_commit(root: &Path) -> Option<String> {
    let start = std::fs::canonicalize(root).ok()?;
    let dot_git = start.ancestors().map(|dir| dir.join(".git")).find(|p| p.exists())?;
    // A worktree or submodule: `.git` is a file naming the real folder.
    let git_dir = if dot_git.is_file() {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        if target.is_absolute() { target } else { dot_git.parent()?.join(target) }
    } else {
        dot_git
    };
    // Refs of a worktree live in the common folder.
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir.join(text.trim()),
        Err(_) => git_dir.clone(),
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit(head).then(|| head.to_owned());
    };
    for dir in [&git_dir, &common] {
        if let Ok(text) = std::fs::read_to_string(dir.join(reference)) {
            let commit = text.trim();
            return is_commit(commit).then(|| commit.to_owned());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name.trim() == reference && is_commit(commit)).then(|| commit.to_owned())
    })
}

fn is_commit(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_loose_and_packed_refs_and_detached_heads() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let git = dir.path().join(".git");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        std::fs::create_dir_all(git.join("refs/heads")).expect("refs");
        std::fs::create_dir_all(dir.path().join("src/pkg")).expect("src");
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        assert_eq!(head_commit(dir.path()), None, "a branch with no commit yet");
        std::fs::write(git.join("packed-refs"), format!("# pack-refs\n{commit} refs/heads/main\n")).expect("packed");
        assert_eq!(head_commit(&dir.path().join("src/pkg")).as_deref(), Some(commit));
        let loose = "89abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(git.join("refs/heads/main"), format!("{loose}\n")).expect("loose");
        assert_eq!(head_commit(dir.path()).as_deref(), Some(loose));
        std::fs::write(git.join("HEAD"), format!("{commit}\n")).expect("detached");
        assert_eq!(head_commit(dir.path()).as_deref(), Some(commit));
    }
}
