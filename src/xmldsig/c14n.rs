//! Canonical XML 1.0 and Exclusive XML Canonicalization 1.0, with and
//! without comments, over a document subset made of one element (the apex),
//! its descendants, minus optionally one descendant element and its whole
//! subtree (the enveloped `ds:Signature`).
//!
//! Rendering rules implemented (W3C REC-xml-c14n-20010315, REC-xml-exc-c14n-20020718):
//!
//! * elements always as start/end tag pairs; no XML declaration, no DOCTYPE;
//!   CDATA already merged into text by the parser, references expanded;
//! * namespace declarations first, sorted by prefix (default namespace first),
//!   then attributes sorted by namespace URI (none first) then local name;
//! * a namespace declaration is written only if the nearest output ancestor
//!   did not already render the same prefix with the same URI. Inclusive:
//!   every in-scope binding is a candidate (at the apex this includes those
//!   declared on ancestors outside the subset). Exclusive: only the prefixes
//!   the element visibly utilizes (its own prefix, or the default namespace
//!   when unprefixed, and its attributes' prefixes) plus the InclusiveNamespaces
//!   PrefixList (`#default` = default namespace), which follow the inclusive rule;
//! * `xmlns=""` is written only when the nearest output ancestor rendered a
//!   non-empty default namespace and the element's is empty;
//! * the `xml` prefix is never declared; inclusive c14n copies the `xml:*`
//!   attributes of the apex's ancestors onto the apex (nearest wins, the
//!   apex's own take precedence); exclusive c14n does not;
//! * text escapes `& < >` and CR (`&#xD;`); attribute values escape
//!   `& < "` and TAB, LF, CR (`&#x9; &#xA; &#xD;`); comment and PI content is
//!   written verbatim (the parser has already normalised line ends).
//!
//! Output is appended to a caller-provided `Vec<u8>`; no per-node allocation.

use super::dom::{Document, Kind, NodeId, XML_NAMESPACE};
use super::error::XmlDsigError;

/// The canonicalization algorithms this module implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum C14nAlgorithm {
    /// Canonical XML 1.0, comments omitted.
    Inclusive,
    /// Canonical XML 1.0 with comments.
    InclusiveWithComments,
    /// Exclusive XML Canonicalization 1.0, comments omitted.
    Exclusive,
    /// Exclusive XML Canonicalization 1.0 with comments.
    ExclusiveWithComments,
}

impl C14nAlgorithm {
    /// Canonical XML 1.0 algorithm URI.
    pub const INCLUSIVE_URI: &'static str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    /// Canonical XML 1.0 with comments algorithm URI.
    pub const INCLUSIVE_WITH_COMMENTS_URI: &'static str =
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
    /// Exclusive c14n algorithm URI (also the InclusiveNamespaces namespace).
    pub const EXCLUSIVE_URI: &'static str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    /// Exclusive c14n with comments algorithm URI.
    pub const EXCLUSIVE_WITH_COMMENTS_URI: &'static str =
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

    /// The algorithm identified by `uri` (exact match), if supported.
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            Self::INCLUSIVE_URI => Some(Self::Inclusive),
            Self::INCLUSIVE_WITH_COMMENTS_URI => Some(Self::InclusiveWithComments),
            Self::EXCLUSIVE_URI => Some(Self::Exclusive),
            Self::EXCLUSIVE_WITH_COMMENTS_URI => Some(Self::ExclusiveWithComments),
            _ => None,
        }
    }

    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Inclusive => Self::INCLUSIVE_URI,
            Self::InclusiveWithComments => Self::INCLUSIVE_WITH_COMMENTS_URI,
            Self::Exclusive => Self::EXCLUSIVE_URI,
            Self::ExclusiveWithComments => Self::EXCLUSIVE_WITH_COMMENTS_URI,
        }
    }

    /// True for the two exclusive variants.
    pub fn is_exclusive(self) -> bool {
        matches!(self, Self::Exclusive | Self::ExclusiveWithComments)
    }

    /// True for the two with-comments variants.
    pub fn with_comments(self) -> bool {
        matches!(
            self,
            Self::InclusiveWithComments | Self::ExclusiveWithComments
        )
    }

    /// The same algorithm without comments.
    pub fn without_comments(self) -> Self {
        match self {
            Self::Inclusive | Self::InclusiveWithComments => Self::Inclusive,
            Self::Exclusive | Self::ExclusiveWithComments => Self::Exclusive,
        }
    }
}

/// What to canonicalize and how.
#[derive(Clone, Copy, Debug)]
pub struct C14nParams<'p> {
    /// The algorithm.
    pub algorithm: C14nAlgorithm,
    /// Exclusive c14n InclusiveNamespaces PrefixList tokens (`#default` for the
    /// default namespace). Ignored by inclusive c14n.
    pub inclusive_prefixes: &'p [&'p str],
    /// A descendant element left out together with its subtree.
    pub exclude: Option<NodeId>,
}

impl C14nParams<'static> {
    /// `algorithm` with no PrefixList and nothing excluded.
    pub fn new(algorithm: C14nAlgorithm) -> Self {
        C14nParams {
            algorithm,
            inclusive_prefixes: &[],
            exclude: None,
        }
    }
}

/// Canonicalizes the subtree at `apex` and returns the bytes.
pub fn canonicalize(
    doc: &Document,
    apex: NodeId,
    params: &C14nParams<'_>,
) -> Result<Vec<u8>, XmlDsigError> {
    let mut out = Vec::new();
    canonicalize_into(doc, apex, params, &mut out)?;
    Ok(out)
}

/// Canonicalizes the subtree at `apex`, appending to `out`.
pub fn canonicalize_into(
    doc: &Document,
    apex: NodeId,
    params: &C14nParams<'_>,
    out: &mut Vec<u8>,
) -> Result<(), XmlDsigError> {
    if doc.elem(apex.0).is_none() {
        return Err(XmlDsigError::NotAnElement);
    }
    let exclusive = params.algorithm.is_exclusive();
    let mut w = Writer {
        doc,
        out,
        exclusive,
        comments: params.algorithm.with_comments(),
        prefix_list: Vec::new(),
        track_scope: !exclusive || !params.inclusive_prefixes.is_empty(),
        rendered: Vec::with_capacity(16),
        in_scope: Vec::new(),
        marks: Vec::with_capacity(16),
        ns_buf: Vec::with_capacity(8),
        attr_buf: Vec::with_capacity(8),
    };
    if exclusive {
        for p in params.inclusive_prefixes {
            let p = if *p == "#default" { "" } else { *p };
            if !w.prefix_list.contains(&p) {
                w.prefix_list.push(p);
            }
        }
    }
    w.run(apex.0, params.exclude.map(|n| n.0))
}

type Binding<'d> = (&'d str, &'d str);

struct Writer<'d, 'o, 'p> {
    doc: &'d Document,
    out: &'o mut Vec<u8>,
    exclusive: bool,
    comments: bool,
    prefix_list: Vec<&'p str>,
    /// Whether `in_scope` is needed (inclusive, or exclusive with a PrefixList).
    track_scope: bool,
    /// Bindings rendered by output ancestors, innermost last.
    rendered: Vec<Binding<'d>>,
    /// All in-scope bindings, innermost last (only when `track_scope`).
    in_scope: Vec<Binding<'d>>,
    /// Per open element: lengths of `rendered` and `in_scope` to restore.
    marks: Vec<(usize, usize)>,
    ns_buf: Vec<Binding<'d>>,
    /// (namespace URI, local name, qualified name, value)
    attr_buf: Vec<(&'d str, &'d str, &'d str, &'d str)>,
}

const NONE: u32 = u32::MAX;

/// Equality that is instant when both sides are the same arena slice (the
/// usual case: an element and its ancestor resolve to the same declaration).
#[inline]
fn same_str(a: &str, b: &str) -> bool {
    (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
}

/// String equality without a libc call, for short strings such as prefixes.
#[inline]
fn eq_short(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

impl<'d> Writer<'d, '_, '_> {
    fn run(&mut self, apex: u32, exclude: Option<u32>) -> Result<(), XmlDsigError> {
        let doc = self.doc;
        if self.track_scope {
            // Bindings declared on the apex's ancestors, outermost first.
            let mut chain = Vec::new();
            let mut cur = doc.node(apex).map_or(NONE, |n| n.parent);
            while let Some(n) = doc.node(cur) {
                chain.push(cur);
                cur = n.parent;
            }
            for &anc in chain.iter().rev() {
                if let Some(e) = doc.elem(anc) {
                    for d in doc.elem_ns_decls(e) {
                        self.in_scope.push((doc.s(d.prefix), doc.s(d.uri)));
                    }
                }
            }
        }
        self.start(apex, true);
        let mut parent = apex;
        let mut cur = doc.node(apex).map_or(NONE, |n| n.first_child);
        loop {
            if let Some(node) = doc.node(cur) {
                if Some(cur) == exclude {
                    cur = node.next_sibling;
                    continue;
                }
                match &node.kind {
                    Kind::Element(_) => {
                        self.start(cur, false);
                        parent = cur;
                        cur = node.first_child;
                        continue;
                    }
                    Kind::Text(s) => escape_text(self.out, doc.s(*s)),
                    Kind::Comment(s) => {
                        if self.comments {
                            self.out.extend_from_slice(b"<!--");
                            self.out.extend_from_slice(doc.s(*s).as_bytes());
                            self.out.extend_from_slice(b"-->");
                        }
                    }
                    Kind::Pi { target, data } => {
                        self.out.extend_from_slice(b"<?");
                        self.out.extend_from_slice(doc.s(*target).as_bytes());
                        let data = doc.s(*data);
                        if !data.is_empty() {
                            self.out.push(b' ');
                            self.out.extend_from_slice(data.as_bytes());
                        }
                        self.out.extend_from_slice(b"?>");
                    }
                }
                cur = node.next_sibling;
            } else {
                self.end(parent);
                if parent == apex {
                    return Ok(());
                }
                let Some(p) = doc.node(parent) else {
                    return Ok(());
                };
                cur = p.next_sibling;
                parent = p.parent;
            }
        }
    }

    fn rendered_uri(&self, prefix: &str) -> Option<&'d str> {
        self.rendered
            .iter()
            .rev()
            .find(|(p, _)| eq_short(p, prefix))
            .map(|(_, u)| *u)
    }

    /// Queues `prefix = uri` for rendering unless already queued or already
    /// rendered with the same value by an output ancestor.
    fn consider(&mut self, prefix: &'d str, uri: &'d str) {
        if prefix == "xml" || self.ns_buf.iter().any(|(p, _)| eq_short(p, prefix)) {
            return;
        }
        let current = self.rendered_uri(prefix);
        let needed = if prefix.is_empty() {
            !same_str(current.unwrap_or(""), uri)
        } else {
            !current.is_some_and(|c| same_str(c, uri))
        };
        if needed {
            self.ns_buf.push((prefix, uri));
        }
    }

    fn start(&mut self, id: u32, is_apex: bool) {
        let doc = self.doc;
        let Some(e) = doc.elem(id) else { return };
        self.marks.push((self.rendered.len(), self.in_scope.len()));
        if self.track_scope {
            for d in doc.elem_ns_decls(e) {
                self.in_scope.push((doc.s(d.prefix), doc.s(d.uri)));
            }
        }
        let (prefix, _) = doc.qname_parts(e.qname, e.prefix_len);
        let attrs = doc.elem_attrs(e);
        self.ns_buf.clear();
        if self.exclusive {
            self.consider(prefix, doc.s(e.ns));
            for a in attrs {
                if a.prefix_len > 0 {
                    let (ap, _) = doc.qname_parts(a.qname, a.prefix_len);
                    self.consider(ap, doc.s(a.ns));
                }
            }
            for i in 0..self.prefix_list.len() {
                let Some(&p) = self.prefix_list.get(i) else {
                    break;
                };
                // Resolve through the in-scope stack so the binding borrows the document.
                let found = self.in_scope.iter().rev().find(|(sp, _)| *sp == p).copied();
                match found {
                    Some((sp, su)) => self.consider(sp, su),
                    None if p.is_empty() => self.consider("", ""),
                    None => {}
                }
            }
        } else if is_apex {
            for i in 0..self.in_scope.len() {
                let Some(&(p, u)) = self.in_scope.get(i) else {
                    break;
                };
                // Only the innermost binding of each prefix is in scope.
                if !self.in_scope.iter().skip(i + 1).any(|(q, _)| *q == p) {
                    self.consider(p, u);
                }
            }
        } else {
            for d in doc.elem_ns_decls(e) {
                self.consider(doc.s(d.prefix), doc.s(d.uri));
            }
        }
        self.ns_buf.sort_unstable_by(|a, b| a.0.cmp(b.0));

        self.attr_buf.clear();
        for a in attrs {
            let (_, local) = doc.qname_parts(a.qname, a.prefix_len);
            self.attr_buf
                .push((doc.s(a.ns), local, doc.s(a.qname), doc.s(a.value)));
        }
        if is_apex && !self.exclusive {
            self.inherit_xml_attributes(id);
        }
        self.attr_buf
            .sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        let out = &mut *self.out;
        out.push(b'<');
        out.extend_from_slice(doc.s(e.qname).as_bytes());
        for &(p, u) in &self.ns_buf {
            if p.is_empty() {
                out.extend_from_slice(b" xmlns=\"");
            } else {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(p.as_bytes());
                out.extend_from_slice(b"=\"");
            }
            escape_attr(out, u);
            out.push(b'"');
        }
        for &(_, _, q, v) in &self.attr_buf {
            out.push(b' ');
            out.extend_from_slice(q.as_bytes());
            out.extend_from_slice(b"=\"");
            escape_attr(out, v);
            out.push(b'"');
        }
        out.push(b'>');
        let ns_buf = std::mem::take(&mut self.ns_buf);
        self.rendered.extend_from_slice(&ns_buf);
        self.ns_buf = ns_buf;
    }

    /// Canonical XML 1.0: `xml:*` attributes of ancestors outside the subset
    /// are inherited by the apex unless it carries the same attribute.
    fn inherit_xml_attributes(&mut self, apex: u32) {
        let doc = self.doc;
        let mut cur = doc.node(apex).map_or(NONE, |n| n.parent);
        while let Some(node) = doc.node(cur) {
            if let Some(e) = doc.elem(cur) {
                for a in doc.elem_attrs(e) {
                    if !doc.is_xml_ns(a.ns) {
                        continue;
                    }
                    let (_, local) = doc.qname_parts(a.qname, a.prefix_len);
                    let present = self
                        .attr_buf
                        .iter()
                        .any(|(ns, l, _, _)| *ns == XML_NAMESPACE && *l == local);
                    if !present {
                        self.attr_buf
                            .push((XML_NAMESPACE, local, doc.s(a.qname), doc.s(a.value)));
                    }
                }
            }
            cur = node.parent;
        }
    }

    fn end(&mut self, id: u32) {
        let doc = self.doc;
        if let Some(e) = doc.elem(id) {
            self.out.extend_from_slice(b"</");
            self.out.extend_from_slice(doc.s(e.qname).as_bytes());
            self.out.push(b'>');
        }
        if let Some((r, s)) = self.marks.pop() {
            self.rendered.truncate(r);
            self.in_scope.truncate(s);
        }
    }
}

/// Bytes escaped in text content (`& < >` CR), marked non-zero.
const TEXT_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// Bytes escaped in attribute values (`& < "` TAB LF CR).
const ATTR_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// Appends `s` escaped as canonical text content.
pub(crate) fn escape_text(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, &TEXT_SPECIAL);
}

/// Appends `s` escaped as a canonical attribute value.
pub(crate) fn escape_attr(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, &ATTR_SPECIAL);
}

#[inline]
fn escape_with(out: &mut Vec<u8>, s: &str, special: &[bool; 256]) {
    let mut rest = s.as_bytes();
    while let Some(i) = rest.iter().position(|&b| special[b as usize]) {
        let (plain, tail) = rest.split_at(i);
        out.extend_from_slice(plain);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.extend_from_slice(match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            _ => b"&#xD;",
        });
        rest = tail;
    }
    out.extend_from_slice(rest);
}
