//! Workshop mode's identities: the state folder (`join-code` and `teacher-secret`, mode 0600, made once
//! and reused on restart; `participants.json`), who a request is (participant with the join code,
//! teacher with the teacher secret), and the readable 403 pages for everyone else.

use crate::secret::{random_hex, same};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const JOIN_CODE_FILE: &str = "join-code";
pub const TEACHER_SECRET_FILE: &str = "teacher-secret";
pub const PARTICIPANTS_FILE: &str = "participants.json";

#[derive(Clone, Debug)]
pub struct Workshop {
    pub dir: PathBuf,
    pub join_code: String,
    pub teacher_secret: String,
}

/// Who a connection is, from its URL's query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Solo,
    Participant,
    Teacher,
}

impl Workshop {
    /// Opens (or makes) the state folder `dir`.
    pub fn open(dir: &Path) -> Result<Workshop, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        // 48 bits for the join code (it is typed from a projector at worst), 128 for the teacher's.
        let join_code = read_or_make(&dir.join(JOIN_CODE_FILE), 6)?;
        let teacher_secret = read_or_make(&dir.join(TEACHER_SECRET_FILE), 16)?;
        Ok(Workshop { dir: dir.to_path_buf(), join_code, teacher_secret })
    }

    pub fn participants_file(&self) -> PathBuf {
        self.dir.join(PARTICIPANTS_FILE)
    }

    /// `?teacher=` with the teacher secret, or `?join=` with the join code; anything else is refused.
    pub fn who(&self, query: &HashMap<String, String>) -> Option<Who> {
        if query.get("teacher").is_some_and(|s| same(s, &self.teacher_secret)) {
            Some(Who::Teacher)
        } else if query.get("join").is_some_and(|c| same(c, &self.join_code)) {
            Some(Who::Participant)
        } else {
            None
        }
    }
}

/// The secret in `path`, or a new one written there (mode 0600) when the file does not exist.
fn read_or_make(path: &Path, bytes: usize) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= 8 && s.trim().bytes().all(|b| b.is_ascii_alphanumeric()) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Ok(s.trim().to_string())
        }
        Ok(s) => Err(format!(
            "{}: holds {} characters; a secret is at least 8 letters or digits (delete the file to make a new one)",
            path.display(),
            s.trim().len()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let s = random_hex(bytes);
            checkpoint_dir::write_atomic(path, format!("{s}\n").as_bytes(), true).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(s)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Headers for every page whose URL carries a secret: not cached, not passed on as a Referer.
fn private_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// The readable refusal for a missing or wrong join code or teacher secret.
pub fn forbidden_page(teacher: bool) -> Response {
    let (title, text) = if teacher {
        ("Teacher page", "This is the teacher's page of an Offset Lab workshop. It needs the teacher link that <code>cargo xtask workshop</code> printed.")
    } else {
        ("Offset Lab workshop", "This workshop needs the link or QR code your teacher shows. Ask for it, then open it on this device.")
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font:18px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}}</style></head>\
         <body><h1>{title}</h1><p>{text}</p><p>(HTTP 403: missing or wrong code in the link.)</p></body></html>\n"
    );
    private_headers((StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// `index.html` of the built page (the page reads its path, `/` or `/teacher`, itself).
pub fn index_page(dist: Option<&Path>) -> Response {
    let Some(dist) = dist else {
        return (StatusCode::NOT_FOUND, "no page to serve: the bridge was started without --dist").into_response();
    };
    match std::fs::read(dist.join("index.html")) {
        Ok(bytes) => private_headers((StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes).into_response()),
        Err(e) => (StatusCode::NOT_FOUND, format!("{}: {e}", dist.join("index.html").display())).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_made_once_with_mode_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("offset-lab-workshop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let w = Workshop::open(&dir).unwrap();
        assert_eq!(w.join_code.len(), 12);
        assert_eq!(w.teacher_secret.len(), 32);
        for f in [JOIN_CODE_FILE, TEACHER_SECRET_FILE] {
            assert_eq!(std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
        }
        let again = Workshop::open(&dir).unwrap();
        assert_eq!((again.join_code.as_str(), again.teacher_secret.as_str()), (w.join_code.as_str(), w.teacher_secret.as_str()));

        let q = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(w.who(&q("join", &w.join_code)), Some(Who::Participant));
        assert_eq!(w.who(&q("teacher", &w.teacher_secret)), Some(Who::Teacher));
        assert_eq!(w.who(&q("join", "nope")), None);
        assert_eq!(w.who(&q("teacher", &w.join_code)), None, "the join code is not the teacher's");
        assert_eq!(w.who(&HashMap::new()), None);

        std::fs::write(dir.join(JOIN_CODE_FILE), "x\n").unwrap();
        assert!(Workshop::open(&dir).unwrap_err().contains("at least 8"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
