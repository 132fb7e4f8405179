//! The JSON Pointer being walked: kept on the stack, rendered only when a problem needs it.

use crate::error::escape_token;

/// A JSON Pointer being walked, kept on the stack and rendered only when a problem needs it.
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(super) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(super) fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(out);
                out.push('/');
                escape_token(key, out);
            }
            Path::Index(parent, i) => {
                parent.render_into(out);
                out.push('/');
                out.push_str(&i.to_string());
            }
        }
    }
}
