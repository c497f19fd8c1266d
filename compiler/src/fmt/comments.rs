//! The comments of a source file, in order, taken one by one as the formatter reaches them.

/// `// …` comments outside string literals, with their byte offsets.
pub(super) struct Comments {
    list: Vec<(usize, String)>,
    next: usize,
}

/// One comment taken from the list: where it starts and ends, and its text.
pub(super) struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Comments {
    pub fn scan(source: &str) -> Comments {
        let mut list = Vec::new();
        let mut offset = 0;
        for line in source.split_inclusive('\n') {
            if let Some(at) = comment_start(line) {
                list.push((offset + at, line[at..].trim_end().to_owned()));
            }
            offset += line.len();
        }
        Comments { list, next: 0 }
    }

    pub fn next_start(&self) -> Option<usize> {
        self.list.get(self.next).map(|(start, _)| *start)
    }

    /// The next comment, if it starts before `pos`.
    pub fn take_before(&mut self, pos: usize) -> Option<Comment> {
        let (start, text) = self.list.get(self.next)?;
        if *start >= pos {
            return None;
        }
        self.next += 1;
        Some(Comment {
            start: *start,
            end: start + text.len(),
            text: text.clone(),
        })
    }

    /// The next comment, if it follows `end` on the same line.
    pub fn trailing(&mut self, source: &str, end: usize) -> Option<String> {
        let (start, text) = self.list.get(self.next)?;
        let same_line = *start >= end
            && source
                .get(end..*start)
                .is_some_and(|gap| !gap.contains('\n'));
        if !same_line {
            return None;
        }
        self.next += 1;
        Some(text.clone())
    }
}

/// Where a `//` comment starts in one line, outside string literals (which never span lines).
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}
