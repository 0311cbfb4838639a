//! A strict, minimal, read-only XML tree built from `quick-xml` events.
//!
//! The parser accepts a deliberately narrow dialect of XML 1.0 + Namespaces:
//! UTF-8 only (an optional leading BOM is skipped), no DOCTYPE of any kind,
//! no entity references besides the five predefined ones and numeric
//! character references, no undeclared prefixes, no duplicate attributes
//! (neither by qualified nor by expanded name), exactly one root element and
//! nothing but whitespace, comments and processing instructions around it.
//! Nesting depth, node count and attributes per element are bounded by
//! [`ParseLimits`], and the retained text never exceeds the input size, so a
//! hostile document cannot exhaust memory.
//!
//! Everything the tree stores is already *decoded*: line ends are normalised
//! (CR LF and lone CR become LF), references are expanded, attribute values
//! are normalised as XML 1.0 section 3.3.3 prescribes for CDATA attributes,
//! and CDATA sections are merged into the surrounding text. Adjacent
//! character data is stored as one text node, so a text node boundary only
//! ever occurs at markup (element, comment, processing instruction).
//!
//! All strings live in one arena; nodes refer to it by offsets, which keeps
//! parsing to a handful of allocations per document.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::error::XmlDsigError;
use super::tag::{RawAttrs, qname_prefix_len};

/// The namespace bound to the `xml` prefix by definition.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes, which may never be bound explicitly.
pub const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

const NONE: u32 = u32::MAX;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Offsets are stored as `u32`; refuse anything that would not fit.
const MAX_INPUT: usize = (u32::MAX / 2) as usize;

/// Resource limits applied while parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLimits {
    /// Maximum element nesting depth (the root is depth 1).
    pub max_depth: usize,
    /// Maximum number of stored nodes: elements, text runs, comments,
    /// processing instructions, attributes and namespace declarations together.
    pub max_nodes: usize,
    /// Maximum number of attributes (including namespace declarations) on one element.
    pub max_attributes_per_element: usize,
}

impl Default for ParseLimits {
    /// 256 levels, 250 000 nodes, 256 attributes per element: far beyond any
    /// real SAML message (the 30 KB fixture has under 1 000 nodes).
    fn default() -> Self {
        ParseLimits {
            max_depth: 256,
            max_nodes: 250_000,
            max_attributes_per_element: 256,
        }
    }
}

/// Identifies a node of one [`Document`]. Only meaningful for the document
/// that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    fn is_empty(self) -> bool {
        self.start == self.end
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ElementData {
    /// Qualified name as written.
    pub(crate) qname: Span,
    /// Length of the prefix inside `qname` (0 when unprefixed).
    pub(crate) prefix_len: u32,
    /// Resolved namespace URI (empty span: no namespace).
    pub(crate) ns: Span,
    /// Range into `Document::attrs`.
    pub(crate) attrs: (u32, u32),
    /// Range into `Document::ns_decls`.
    pub(crate) ns_decls: (u32, u32),
    /// Byte offsets in the original input: end of the start tag (after
    /// `>`), end of the element (after the end tag's `>`).
    pub(crate) src_start_tag_end: u32,
    pub(crate) src_end: u32,
    /// Written as `<x/>`.
    pub(crate) self_closing: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Element(ElementData),
    Text(Span),
    Comment(Span),
    Pi { target: Span, data: Span },
}

#[derive(Clone, Debug)]
pub(crate) struct RawNode {
    pub(crate) kind: Kind,
    pub(crate) parent: u32,
    pub(crate) first_child: u32,
    pub(crate) last_child: u32,
    pub(crate) next_sibling: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Attr {
    pub(crate) qname: Span,
    pub(crate) prefix_len: u32,
    pub(crate) ns: Span,
    pub(crate) value: Span,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct NsDecl {
    /// Empty for the default namespace.
    pub(crate) prefix: Span,
    /// Empty for `xmlns=""`.
    pub(crate) uri: Span,
}

/// A parsed, immutable XML document.
#[derive(Clone, Debug)]
pub struct Document {
    pub(crate) arena: String,
    pub(crate) nodes: Vec<RawNode>,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) ns_decls: Vec<NsDecl>,
    pub(crate) root: u32,
    xml_ns: Span,
}

impl Document {
    /// Parses `input` with the default [`ParseLimits`].
    pub fn parse(input: &[u8]) -> Result<Document, XmlDsigError> {
        Self::parse_with_limits(input, &ParseLimits::default())
    }

    /// Parses `input` with explicit limits.
    pub fn parse_with_limits(input: &[u8], limits: &ParseLimits) -> Result<Document, XmlDsigError> {
        Parser::run(input, limits)
    }

    /// The document (root) element.
    pub fn root_element(&self) -> Element<'_> {
        Element {
            doc: self,
            id: self.root,
        }
    }

    /// The element with this id, or `None` if it is not an element of this document.
    pub fn element(&self, id: NodeId) -> Option<Element<'_>> {
        match self.nodes.get(id.0 as usize)?.kind {
            Kind::Element(_) => Some(Element {
                doc: self,
                id: id.0,
            }),
            _ => None,
        }
    }

    /// Number of tree nodes (elements, text runs, comments, processing instructions).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of elements anywhere in the document with this namespace URI (`""` = none) and
    /// local name: one pass over the node arena, no tree walk.
    pub fn count_elements(&self, namespace_uri: &str, local_name: &str) -> usize {
        self.nodes
            .iter()
            .filter(|n| match &n.kind {
                Kind::Element(e) => {
                    let q = self.s(e.qname);
                    let local = if e.prefix_len == 0 {
                        q
                    } else {
                        q.get(e.prefix_len as usize + 1..).unwrap_or("")
                    };
                    local == local_name && self.s(e.ns) == namespace_uri
                }
                _ => false,
            })
            .count()
    }

    pub(crate) fn s(&self, span: Span) -> &str {
        self.arena
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    pub(crate) fn node(&self, id: u32) -> Option<&RawNode> {
        self.nodes.get(id as usize)
    }

    pub(crate) fn elem(&self, id: u32) -> Option<&ElementData> {
        match &self.node(id)?.kind {
            Kind::Element(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn elem_attrs(&self, e: &ElementData) -> &[Attr] {
        self.attrs
            .get(e.attrs.0 as usize..e.attrs.1 as usize)
            .unwrap_or(&[])
    }

    pub(crate) fn elem_ns_decls(&self, e: &ElementData) -> &[NsDecl] {
        self.ns_decls
            .get(e.ns_decls.0 as usize..e.ns_decls.1 as usize)
            .unwrap_or(&[])
    }

    pub(crate) fn qname_parts(&self, qname: Span, prefix_len: u32) -> (&str, &str) {
        let q = self.s(qname);
        if prefix_len == 0 {
            ("", q)
        } else {
            let p = prefix_len as usize;
            (q.get(..p).unwrap_or(""), q.get(p + 1..).unwrap_or(""))
        }
    }

    pub(crate) fn is_xml_ns(&self, span: Span) -> bool {
        span == self.xml_ns || self.s(span) == XML_NAMESPACE
    }

    /// All values of attributes named `ID`, `Id` or `id` (any namespace) plus
    /// `extra_local_name`, in document order.
    pub(crate) fn id_like_values(&self, extra_local_name: &str) -> Vec<&str> {
        self.attrs
            .iter()
            .filter(|a| {
                let (_, local) = self.qname_parts(a.qname, a.prefix_len);
                matches!(local, "ID" | "Id" | "id") || local == extra_local_name
            })
            .map(|a| self.s(a.value))
            .collect()
    }
}

/// A borrowed handle to an element of a [`Document`], with full navigation.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    pub(crate) doc: &'a Document,
    pub(crate) id: u32,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element(<{}> #{})", self.qualified_name(), self.id)
    }
}

/// One attribute of an element (namespace declarations are not attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Prefix as written, if any.
    pub prefix: Option<&'a str>,
    /// Local part of the name.
    pub local_name: &'a str,
    /// Namespace URI (unprefixed attributes have none).
    pub namespace_uri: Option<&'a str>,
    /// Decoded and normalised value.
    pub value: &'a str,
}

/// A child of an element.
#[derive(Clone, Copy, Debug)]
pub enum Node<'a> {
    /// A child element.
    Element(Element<'a>),
    /// A maximal run of character data (CDATA sections included).
    Text(&'a str),
    /// A comment's content.
    Comment(&'a str),
    /// A processing instruction.
    ProcessingInstruction {
        /// Its target.
        target: &'a str,
        /// Its data.
        data: &'a str,
    },
}

impl<'a> Element<'a> {
    fn data(&self) -> &'a ElementData {
        match self.doc.nodes.get(self.id as usize).map(|n| &n.kind) {
            Some(Kind::Element(e)) => e,
            // Element handles are only ever built for element nodes.
            _ => &EMPTY_ELEMENT,
        }
    }

    /// This element's id, for [`Document::element`] and the verification API.
    pub fn node_id(&self) -> NodeId {
        NodeId(self.id)
    }

    /// The qualified name as written (`saml:Assertion`).
    pub fn qualified_name(&self) -> &'a str {
        self.doc.s(self.data().qname)
    }

    /// The local part of the name (`Assertion`).
    pub fn local_name(&self) -> &'a str {
        let d = self.data();
        self.doc.qname_parts(d.qname, d.prefix_len).1
    }

    /// The prefix as written, if any.
    pub fn prefix(&self) -> Option<&'a str> {
        let d = self.data();
        let p = self.doc.qname_parts(d.qname, d.prefix_len).0;
        (!p.is_empty()).then_some(p)
    }

    /// The resolved namespace URI, if the element is in a namespace.
    pub fn namespace_uri(&self) -> Option<&'a str> {
        let d = self.data();
        (!d.ns.is_empty()).then(|| self.doc.s(d.ns))
    }

    /// True if the element has this namespace URI (`""` = no namespace) and local name.
    pub fn has_name(&self, namespace_uri: &str, local_name: &str) -> bool {
        self.local_name() == local_name && self.namespace_uri().unwrap_or("") == namespace_uri
    }

    /// The value of the unqualified (no-namespace) attribute `local_name`.
    pub fn attribute(&self, local_name: &str) -> Option<&'a str> {
        self.attribute_ns("", local_name)
    }

    /// The value of the attribute with this namespace URI (`""` = none) and local name.
    pub fn attribute_ns(&self, namespace_uri: &str, local_name: &str) -> Option<&'a str> {
        self.attributes()
            .find(|a| a.local_name == local_name && a.namespace_uri.unwrap_or("") == namespace_uri)
            .map(|a| a.value)
    }

    /// All attributes, in document order (namespace declarations excluded).
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + 'a {
        let doc = self.doc;
        doc.elem_attrs(self.data()).iter().map(move |a| {
            let (p, l) = doc.qname_parts(a.qname, a.prefix_len);
            Attribute {
                prefix: (!p.is_empty()).then_some(p),
                local_name: l,
                namespace_uri: (!a.ns.is_empty()).then(|| doc.s(a.ns)),
                value: doc.s(a.value),
            }
        })
    }

    /// Namespace declarations made on this element: (prefix or `None` for the
    /// default namespace, URI; `""` undeclares the default namespace).
    pub fn namespace_declarations(&self) -> impl Iterator<Item = (Option<&'a str>, &'a str)> + 'a {
        let doc = self.doc;
        doc.elem_ns_decls(self.data()).iter().map(move |d| {
            let p = doc.s(d.prefix);
            ((!p.is_empty()).then_some(p), doc.s(d.uri))
        })
    }

    /// The parent element (`None` for the root).
    pub fn parent(&self) -> Option<Element<'a>> {
        let p = self.doc.node(self.id)?.parent;
        self.doc.element(NodeId(p))
    }

    /// All children in document order.
    pub fn children(&self) -> Children<'a> {
        Children {
            doc: self.doc,
            next: self.doc.node(self.id).map_or(NONE, |n| n.first_child),
        }
    }

    /// Child elements in document order.
    pub fn child_elements(&self) -> impl Iterator<Item = Element<'a>> + 'a {
        self.children().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The concatenation of ALL direct text children (CDATA included), skipping
    /// comments, processing instructions and child elements. A comment can
    /// therefore never truncate the value (`a<!---->b` reads as `ab`); use
    /// [`Element::text_strict`] where such content must be refused.
    pub fn text(&self) -> Cow<'a, str> {
        let mut texts = self.children().filter_map(|c| match c {
            Node::Text(t) => Some(t),
            _ => None,
        });
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        match texts.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut s = String::with_capacity(first.len() + second.len());
                s.push_str(first);
                s.push_str(second);
                texts.for_each(|t| s.push_str(t));
                Cow::Owned(s)
            }
        }
    }

    /// The element's text, refusing any comment, processing instruction or
    /// child element inside it (for DigestValue, SignatureValue, NameID, ...).
    pub fn text_strict(&self) -> Result<&'a str, XmlDsigError> {
        let mut out = "";
        for c in self.children() {
            let found = match c {
                Node::Text(t) => {
                    // Adjacent character data is merged at parse time, so a
                    // second text node implies markup in between.
                    out = t;
                    continue;
                }
                Node::Element(_) => "child element",
                Node::Comment(_) => "comment",
                Node::ProcessingInstruction { .. } => "processing instruction",
            };
            return Err(XmlDsigError::NotPlainText {
                element: self.qualified_name().to_owned(),
                found,
            });
        }
        Ok(out)
    }
}

static EMPTY_ELEMENT: ElementData = ElementData {
    qname: Span { start: 0, end: 0 },
    prefix_len: 0,
    ns: Span { start: 0, end: 0 },
    attrs: (0, 0),
    ns_decls: (0, 0),
    src_start_tag_end: 0,
    src_end: 0,
    self_closing: false,
};

/// Iterator over an element's children.
#[derive(Clone)]
pub struct Children<'a> {
    doc: &'a Document,
    next: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let id = self.next;
        let node = self.doc.node(id)?;
        self.next = node.next_sibling;
        Some(match &node.kind {
            Kind::Element(_) => Node::Element(Element { doc: self.doc, id }),
            Kind::Text(s) => Node::Text(self.doc.s(*s)),
            Kind::Comment(s) => Node::Comment(self.doc.s(*s)),
            Kind::Pi { target, data } => Node::ProcessingInstruction {
                target: self.doc.s(*target),
                data: self.doc.s(*data),
            },
        })
    }
}

// ===================================================================== parser

struct OpenElement {
    node: u32,
    /// Length of the namespace scope stack before this element's declarations.
    scope_mark: usize,
}

struct PendingAttr {
    qname: Span,
    prefix_len: u32,
    value: Span,
}

struct Parser<'i, 'l> {
    input: &'i str,
    /// Bytes skipped before `input` (the BOM), added to reported offsets.
    base: usize,
    limits: &'l ParseLimits,
    doc: Document,
    open: Vec<OpenElement>,
    /// In-scope namespace bindings: (prefix, uri) spans into the arena.
    scope: Vec<(Span, Span)>,
    pending: Vec<PendingAttr>,
    seen_root: bool,
    seen_event: bool,
    /// Start of the current element's declarations in `doc.ns_decls`.
    decl_start: usize,
}

impl<'i, 'l> Parser<'i, 'l> {
    fn run(raw: &[u8], limits: &ParseLimits) -> Result<Document, XmlDsigError> {
        if raw.len() > MAX_INPUT {
            return Err(XmlDsigError::InputTooLarge {
                size: raw.len(),
                limit: MAX_INPUT,
            });
        }
        let (base, body) = match raw.strip_prefix(UTF8_BOM) {
            Some(rest) => (UTF8_BOM.len(), rest),
            None => (0, raw),
        };
        let input = std::str::from_utf8(body).map_err(|e| XmlDsigError::InvalidUtf8 {
            offset: base + e.valid_up_to(),
        })?;
        check_chars(input, base)?;
        if input.starts_with('\u{FEFF}') {
            return Err(XmlDsigError::Syntax {
                offset: base,
                detail: "second byte-order mark".into(),
            });
        }
        let mut arena = String::with_capacity(input.len() + XML_NAMESPACE.len());
        arena.push_str(XML_NAMESPACE);
        let xml_ns = Span {
            start: 0,
            end: XML_NAMESPACE.len() as u32,
        };
        let mut p = Parser {
            input,
            base,
            limits,
            doc: Document {
                arena,
                nodes: Vec::with_capacity(input.len() / 32 + 4),
                attrs: Vec::with_capacity(input.len() / 64 + 4),
                ns_decls: Vec::new(),
                root: NONE,
                xml_ns,
            },
            open: Vec::with_capacity(16),
            scope: Vec::with_capacity(16),
            pending: Vec::with_capacity(16),
            seen_root: false,
            seen_event: false,
            decl_start: 0,
        };
        p.parse()?;
        Ok(p.doc)
    }

    fn offset(&self, pos: u64) -> usize {
        self.base + pos as usize
    }

    fn syntax(&self, pos: u64, detail: impl Into<String>) -> XmlDsigError {
        XmlDsigError::Syntax {
            offset: self.offset(pos),
            detail: detail.into(),
        }
    }

    fn parse(&mut self) -> Result<(), XmlDsigError> {
        let mut reader = Reader::from_str(self.input);
        {
            let cfg = reader.config_mut();
            cfg.trim_text(false);
            cfg.check_comments = true;
            // End-tag matching is done here, against our own stack.
            cfg.check_end_names = false;
            cfg.expand_empty_elements = false;
            cfg.allow_dangling_amp = false;
            cfg.allow_unmatched_ends = true;
        }
        loop {
            let before = reader.buffer_position();
            let event = reader.read_event().map_err(|e| XmlDsigError::Syntax {
                offset: self.offset(reader.error_position()),
                detail: e.to_string(),
            })?;
            let after = reader.buffer_position();
            let first_event = !self.seen_event;
            self.seen_event = true;
            match event {
                Event::Decl(d) => {
                    if !first_event || before != 0 {
                        return Err(
                            self.syntax(before, "XML declaration not at the start of the document")
                        );
                    }
                    let version = d
                        .version()
                        .map_err(|e| self.syntax(before, format!("bad XML declaration: {e}")))?;
                    if version != "1.0" {
                        return Err(XmlDsigError::UnsupportedXmlVersion {
                            version: version.into_owned(),
                        });
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| {
                            self.syntax(before, format!("bad XML declaration: {e}"))
                        })?;
                        if !enc.eq_ignore_ascii_case("UTF-8") {
                            return Err(XmlDsigError::UnsupportedEncoding {
                                encoding: enc.into_owned(),
                            });
                        }
                    }
                    if let Some(sa) = d.standalone() {
                        let sa = sa.map_err(|e| {
                            self.syntax(before, format!("bad XML declaration: {e}"))
                        })?;
                        if sa != "yes" && sa != "no" {
                            return Err(self.syntax(before, "standalone must be \"yes\" or \"no\""));
                        }
                    }
                }
                Event::DocType(_) => {
                    return Err(XmlDsigError::DoctypeForbidden {
                        offset: self.offset(before),
                    });
                }
                Event::Start(e) => self.start_element(&e, before, after, false)?,
                Event::Empty(e) => {
                    self.start_element(&e, before, after, true)?;
                    self.end_element(None, before, after)?;
                }
                Event::End(e) => {
                    let name: &str = &e;
                    self.end_element(Some(name), before, after)?;
                }
                Event::Text(t) => {
                    let raw: &str = &t;
                    if self.open.is_empty() {
                        if !raw.bytes().all(is_xml_space) {
                            return Err(XmlDsigError::ContentOutsideRoot {
                                offset: self.offset(before),
                            });
                        }
                    } else {
                        if raw.as_bytes().contains(&b']') && raw.contains("]]>") {
                            return Err(
                                self.syntax(before, "']]>' is not allowed in character data")
                            );
                        }
                        let start = self.text_start()?;
                        push_normalized_eol(&mut self.doc.arena, raw);
                        self.finish_text(start);
                    }
                }
                Event::CData(c) => {
                    if self.open.is_empty() {
                        return Err(XmlDsigError::ContentOutsideRoot {
                            offset: self.offset(before),
                        });
                    }
                    let raw: &str = &c;
                    let start = self.text_start()?;
                    push_normalized_eol(&mut self.doc.arena, raw);
                    self.finish_text(start);
                }
                Event::GeneralRef(r) => {
                    if self.open.is_empty() {
                        return Err(XmlDsigError::ContentOutsideRoot {
                            offset: self.offset(before),
                        });
                    }
                    let name: &str = &r;
                    let c = resolve_reference(name, self.offset(before))?;
                    let start = self.text_start()?;
                    self.doc.arena.push(c);
                    self.finish_text(start);
                }
                Event::Comment(c) => {
                    let raw: &str = &c;
                    if raw.ends_with('-') {
                        return Err(self.syntax(before, "comment must not end with '-'"));
                    }
                    if !self.open.is_empty() {
                        let span = self.push_str_normalized(raw);
                        self.append_leaf(Kind::Comment(span))?;
                    }
                }
                Event::PI(pi) => {
                    let target = pi.target();
                    if target.eq_ignore_ascii_case("xml") || !is_ncname(target) {
                        return Err(self.syntax(
                            before,
                            format!("invalid processing instruction target {target:?}"),
                        ));
                    }
                    let content = pi.content();
                    if !content.is_empty()
                        && !content.starts_with(|c: char| c.is_ascii() && is_xml_space(c as u8))
                    {
                        return Err(self.syntax(
                            before,
                            "processing instruction target must be followed by whitespace",
                        ));
                    }
                    if !self.open.is_empty() {
                        let data = content.trim_start_matches([' ', '\t', '\r', '\n']);
                        let target = self.push_str(target);
                        let data = self.push_str_normalized(data);
                        self.append_leaf(Kind::Pi { target, data })?;
                    }
                }
                Event::Eof => break,
            }
        }
        if let Some(open) = self.open.last() {
            let name = self
                .doc
                .elem(open.node)
                .map(|e| self.doc.s(e.qname).to_owned())
                .unwrap_or_default();
            return Err(XmlDsigError::UnclosedElement { open: name });
        }
        if !self.seen_root {
            return Err(XmlDsigError::NoRootElement);
        }
        Ok(())
    }

    fn check_node_budget(&self) -> Result<(), XmlDsigError> {
        let used = self.doc.nodes.len() + self.doc.attrs.len() + self.doc.ns_decls.len();
        if used >= self.limits.max_nodes {
            return Err(XmlDsigError::NodeLimitExceeded {
                limit: self.limits.max_nodes,
            });
        }
        Ok(())
    }

    fn push_str(&mut self, s: &str) -> Span {
        let start = self.doc.arena.len() as u32;
        self.doc.arena.push_str(s);
        Span {
            start,
            end: self.doc.arena.len() as u32,
        }
    }

    fn push_str_normalized(&mut self, s: &str) -> Span {
        let start = self.doc.arena.len() as u32;
        push_normalized_eol(&mut self.doc.arena, s);
        Span {
            start,
            end: self.doc.arena.len() as u32,
        }
    }

    /// Returns where the current text run starts in the arena: the start of
    /// the parent's last child if that is a text node that ends at the arena's
    /// end (so it can be extended), otherwise a new run at the arena's end.
    fn text_start(&mut self) -> Result<u32, XmlDsigError> {
        let end = self.doc.arena.len() as u32;
        if let Some(open) = self.open.last() {
            let last = self.doc.node(open.node).map_or(NONE, |n| n.last_child);
            if let Some(RawNode {
                kind: Kind::Text(span),
                ..
            }) = self.doc.node(last)
                && span.end == end
            {
                return Ok(span.start);
            }
        }
        self.check_node_budget()?;
        Ok(end)
    }

    fn finish_text(&mut self, start: u32) {
        let end = self.doc.arena.len() as u32;
        let Some(open) = self.open.last() else {
            return;
        };
        let parent = open.node;
        let last = self.doc.node(parent).map_or(NONE, |n| n.last_child);
        if let Some(RawNode {
            kind: Kind::Text(span),
            ..
        }) = self.doc.nodes.get_mut(last as usize)
            && span.start == start
        {
            span.end = end;
            return;
        }
        self.link_child(parent, Kind::Text(Span { start, end }));
    }

    fn append_leaf(&mut self, kind: Kind) -> Result<(), XmlDsigError> {
        self.check_node_budget()?;
        if let Some(open) = self.open.last() {
            let parent = open.node;
            self.link_child(parent, kind);
        }
        Ok(())
    }

    fn link_child(&mut self, parent: u32, kind: Kind) -> u32 {
        let id = self.doc.nodes.len() as u32;
        self.doc.nodes.push(RawNode {
            kind,
            parent,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        });
        if parent != NONE {
            let prev_last = self
                .doc
                .nodes
                .get(parent as usize)
                .map_or(NONE, |p| p.last_child);
            if let Some(prev) = self.doc.nodes.get_mut(prev_last as usize) {
                prev.next_sibling = id;
            }
            if let Some(p) = self.doc.nodes.get_mut(parent as usize) {
                if p.first_child == NONE {
                    p.first_child = id;
                }
                p.last_child = id;
            }
        }
        id
    }

    fn lookup(&self, prefix: &str) -> Option<Span> {
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| self.doc.s(*p) == prefix)
            .map(|(_, u)| *u)
    }

    fn start_element(
        &mut self,
        e: &quick_xml::events::BytesStart<'i>,
        before: u64,
        after: u64,
        self_closing: bool,
    ) -> Result<(), XmlDsigError> {
        let at = self.offset(before);
        if self.open.is_empty() {
            if self.seen_root {
                return Err(XmlDsigError::MultipleRoots { offset: at });
            }
            self.seen_root = true;
        }
        if self.open.len() >= self.limits.max_depth {
            return Err(XmlDsigError::DepthLimitExceeded {
                limit: self.limits.max_depth,
                offset: at,
            });
        }
        self.check_node_budget()?;
        let qname_raw: &str = e.name().0;
        let elem_prefix_len = qname_prefix_len(qname_raw).ok_or_else(|| XmlDsigError::Syntax {
            offset: at,
            detail: format!("invalid element name {:?}", truncate(qname_raw)),
        })?;
        let qspan = self.push_str(qname_raw);

        // ---- attributes and namespace declarations
        let scope_mark = self.scope.len();
        let decl_start = self.doc.ns_decls.len() as u32;
        self.decl_start = decl_start as usize;
        self.pending.clear();
        let mut count = 0usize;
        let tag: &str = e;
        let after_name = tag.get(qname_raw.len()..).unwrap_or("");
        for attr in RawAttrs::new(after_name) {
            let attr = attr.map_err(|why| XmlDsigError::Syntax {
                offset: at,
                detail: format!("bad attribute: {why}"),
            })?;
            count += 1;
            if count > self.limits.max_attributes_per_element {
                return Err(XmlDsigError::AttributeLimitExceeded {
                    limit: self.limits.max_attributes_per_element,
                    offset: at,
                });
            }
            self.check_node_budget()?;
            let key = attr.key;
            let raw_value = attr.value;
            let value = push_attr_value(&mut self.doc.arena, raw_value, at)?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                let prefix = key.strip_prefix("xmlns:").unwrap_or("");
                if key != "xmlns" && !is_ncname(prefix) {
                    return Err(XmlDsigError::InvalidNamespaceDeclaration {
                        detail: format!("invalid namespace prefix in {:?}", truncate(key)),
                        offset: at,
                    });
                }
                self.declare(prefix, value, at)?;
            } else {
                let prefix_len = qname_prefix_len(key).ok_or_else(|| XmlDsigError::Syntax {
                    offset: at,
                    detail: format!("invalid attribute name {:?}", truncate(key)),
                })?;
                let qname = self.push_str(key);
                self.pending.push(PendingAttr {
                    qname,
                    prefix_len,
                    value,
                });
            }
        }
        let decl_end = self.doc.ns_decls.len() as u32;

        // ---- resolve the element's namespace
        let elem_prefix = self.doc.qname_parts(qspan, elem_prefix_len).0;
        let ns = if elem_prefix_len == 0 {
            self.lookup("").unwrap_or_default()
        } else if elem_prefix == "xml" {
            self.doc.xml_ns
        } else if elem_prefix == "xmlns" {
            return Err(XmlDsigError::InvalidNamespaceDeclaration {
                detail: "the xmlns prefix cannot be used on an element".into(),
                offset: at,
            });
        } else {
            self.lookup(elem_prefix)
                .ok_or_else(|| XmlDsigError::UndeclaredPrefix {
                    prefix: elem_prefix.to_owned(),
                    offset: at,
                })?
        };

        // ---- resolve attributes and check expanded-name uniqueness
        let attr_start = self.doc.attrs.len() as u32;
        let pending = std::mem::take(&mut self.pending);
        for pa in &pending {
            let prefix = self.doc.qname_parts(pa.qname, pa.prefix_len).0;
            let ans = if pa.prefix_len == 0 {
                Span::default()
            } else if prefix == "xml" {
                self.doc.xml_ns
            } else {
                self.lookup(prefix)
                    .ok_or_else(|| XmlDsigError::UndeclaredPrefix {
                        prefix: prefix.to_owned(),
                        offset: at,
                    })?
            };
            self.doc.attrs.push(Attr {
                qname: pa.qname,
                prefix_len: pa.prefix_len,
                ns: ans,
                value: pa.value,
            });
        }
        self.pending = pending;
        let attr_end = self.doc.attrs.len() as u32;
        if let Some(dup) = self.duplicate_expanded_attr(attr_start, attr_end) {
            return Err(XmlDsigError::DuplicateAttribute {
                name: dup,
                offset: at,
            });
        }

        let parent = self.open.last().map_or(NONE, |o| o.node);
        let node = self.link_child(
            parent,
            Kind::Element(ElementData {
                qname: qspan,
                prefix_len: elem_prefix_len,
                ns,
                attrs: (attr_start, attr_end),
                ns_decls: (decl_start, decl_end),
                src_start_tag_end: self.offset(after) as u32,
                src_end: self.offset(after) as u32,
                self_closing,
            }),
        );
        if parent == NONE {
            self.doc.root = node;
        }
        self.open.push(OpenElement { node, scope_mark });
        Ok(())
    }

    fn duplicate_expanded_attr(&self, start: u32, end: u32) -> Option<String> {
        let attrs = self.doc.attrs.get(start as usize..end as usize)?;
        for (i, a) in attrs.iter().enumerate() {
            let (_, al) = self.doc.qname_parts(a.qname, a.prefix_len);
            let ans = self.doc.s(a.ns);
            for b in attrs.iter().skip(i + 1) {
                let (_, bl) = self.doc.qname_parts(b.qname, b.prefix_len);
                if al == bl && ans == self.doc.s(b.ns) {
                    return Some(format!("{{{ans}}}{al}"));
                }
            }
        }
        None
    }

    fn declare(&mut self, prefix: &str, uri: Span, at: usize) -> Result<(), XmlDsigError> {
        let uri_str = self.doc.s(uri);
        let bad = |detail: String| XmlDsigError::InvalidNamespaceDeclaration { detail, offset: at };
        if prefix == "xmlns" {
            return Err(bad("the xmlns prefix cannot be declared".into()));
        }
        if !prefix.is_empty() && !is_ncname(prefix) {
            return Err(bad(format!("invalid prefix {prefix:?}")));
        }
        let decls = self.doc.ns_decls.get(self.decl_start..).unwrap_or(&[]);
        if decls.iter().any(|d| self.doc.s(d.prefix) == prefix) {
            let name = if prefix.is_empty() {
                "xmlns".to_owned()
            } else {
                format!("xmlns:{prefix}")
            };
            return Err(XmlDsigError::DuplicateAttribute { name, offset: at });
        }
        if prefix == "xml" {
            if uri_str != XML_NAMESPACE {
                return Err(bad(
                    "the xml prefix can only be bound to its own namespace".into()
                ));
            }
            // Binding xml to its own namespace is allowed and changes nothing.
            return Ok(());
        }
        if uri_str == XML_NAMESPACE || uri_str == XMLNS_NAMESPACE {
            return Err(bad(format!(
                "{uri_str:?} cannot be bound to prefix {prefix:?}"
            )));
        }
        if !prefix.is_empty() && uri_str.is_empty() {
            return Err(bad(format!(
                "prefix {prefix:?} cannot be undeclared (xmlns:{prefix}=\"\")"
            )));
        }
        if uri_str
            .bytes()
            .any(|b| matches!(b, b'"' | b'<' | b'&' | b'\t' | b'\n' | b'\r'))
        {
            return Err(bad(
                "namespace URI contains a quote, '<', '&' or a control character".into(),
            ));
        }
        let pspan = self.push_str(prefix);
        self.doc.ns_decls.push(NsDecl { prefix: pspan, uri });
        self.scope.push((pspan, uri));
        Ok(())
    }

    fn end_element(
        &mut self,
        name: Option<&str>,
        before: u64,
        after: u64,
    ) -> Result<(), XmlDsigError> {
        let Some(open) = self.open.pop() else {
            return Err(self.syntax(before, "end tag without a matching start tag"));
        };
        let end_pos = self.offset(after) as u32;
        let Some(RawNode {
            kind: Kind::Element(data),
            ..
        }) = self.doc.nodes.get_mut(open.node as usize)
        else {
            return Err(self.syntax(before, "internal: open node is not an element"));
        };
        data.src_end = end_pos;
        let qspan = data.qname;
        if let Some(name) = name {
            let expected = self.doc.s(qspan);
            if expected != name {
                return Err(XmlDsigError::MismatchedTag {
                    expected: expected.to_owned(),
                    got: name.to_owned(),
                    offset: self.offset(before),
                });
            }
        }
        self.scope.truncate(open.scope_mark);
        Ok(())
    }
}

// ============================================================ lexical helpers

pub(crate) fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Rejects C0 controls (other than TAB, LF, CR) and U+FFFE / U+FFFF.
fn check_chars(s: &str, base: usize) -> Result<(), XmlDsigError> {
    let bytes = s.as_bytes();
    // Branch-free per chunk so the common (clean) case vectorizes.
    let is_bad = |b: u8| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r';
    for (ci, chunk) in bytes.chunks(64).enumerate() {
        if chunk.iter().fold(false, |acc, &b| acc | is_bad(b)) {
            let i = chunk.iter().position(|&b| is_bad(b)).unwrap_or(0);
            return Err(XmlDsigError::InvalidCharacter {
                code: u32::from(chunk.get(i).copied().unwrap_or(0)),
                offset: base + ci * 64 + i,
            });
        }
    }
    if bytes.contains(&0xEF) {
        for (i, w) in bytes.windows(3).enumerate() {
            if let [0xEF, 0xBF, last @ (0xBE | 0xBF)] = w {
                return Err(XmlDsigError::InvalidCharacter {
                    code: if *last == 0xBE { 0xFFFE } else { 0xFFFF },
                    offset: base + i,
                });
            }
        }
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c != '\u{D7}' && c != '\u{F7}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// ASCII bytes allowed in an NCName: 1 = anywhere, 2 = not first.
const NAME_BYTES: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() || b == b'_' {
            1
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            2
        } else {
            0
        };
        c += 1;
    }
    t
};

/// An XML Namespaces NCName (non-ASCII characters are accepted loosely).
pub(crate) fn is_ncname(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut ascii_ok = true;
    for (i, &b) in bytes.iter().enumerate() {
        match NAME_BYTES.get(b as usize) {
            Some(1) => {}
            Some(2) if i > 0 => {}
            Some(_) => return false,
            None => {
                ascii_ok = false;
                break;
            }
        }
    }
    if ascii_ok {
        return !bytes.is_empty();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start(c) => chars.all(is_name_char),
        _ => false,
    }
}

/// Appends `raw` with XML line-end normalisation (CR LF and lone CR become LF).
fn push_normalized_eol(out: &mut String, raw: &str) {
    if !raw.as_bytes().contains(&b'\r') {
        out.push_str(raw);
        return;
    }
    let mut rest = raw;
    while let Some(i) = rest.find('\r') {
        out.push_str(rest.get(..i).unwrap_or(""));
        out.push('\n');
        rest = rest.get(i + 1..).unwrap_or("");
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        }
    }
    out.push_str(rest);
}

/// Resolves the name between `&` and `;`.
fn resolve_reference(name: &str, offset: usize) -> Result<char, XmlDsigError> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let Some(num) = name.strip_prefix('#') else {
                return Err(XmlDsigError::UndefinedEntity {
                    name: name.chars().take(64).collect(),
                    offset,
                });
            };
            let (digits, radix) = match num.strip_prefix('x') {
                Some(h) => (h, 16),
                None => (num, 10),
            };
            let bad = || XmlDsigError::Syntax {
                offset,
                detail: format!(
                    "invalid character reference &{};",
                    name.chars().take(16).collect::<String>()
                ),
            };
            if digits.is_empty() || digits.len() > 8 || !digits.chars().all(|c| c.is_digit(radix)) {
                return Err(bad());
            }
            let code = u32::from_str_radix(digits, radix).map_err(|_| bad())?;
            if !is_xml_char(code) {
                return Err(XmlDsigError::InvalidCharacter { code, offset });
            }
            char::from_u32(code).ok_or_else(bad)?
        }
    };
    Ok(c)
}

/// Appends a decoded, normalised attribute value (XML 1.0 section 3.3.3 for
/// CDATA attributes): references expanded, each literal TAB / LF / CR (and
/// CR LF as one) becomes a space, while characters produced by character
/// references are kept as they are.
fn push_attr_value(out: &mut String, raw: &str, offset: usize) -> Result<Span, XmlDsigError> {
    let start = out.len() as u32;
    let bytes = raw.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b <= b'<' && matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(raw);
        return Ok(Span {
            start,
            end: out.len() as u32,
        });
    }
    let mut run = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        match b {
            b'&' | b'<' | b'\t' | b'\n' | b'\r' => {
                out.push_str(raw.get(run..i).unwrap_or(""));
                match b {
                    b'<' => {
                        return Err(XmlDsigError::Syntax {
                            offset,
                            detail: "'<' is not allowed in an attribute value".into(),
                        });
                    }
                    b'&' => {
                        let rest = raw.get(i + 1..).unwrap_or("");
                        let Some(semi) = rest.find(';').filter(|&s| s <= 32) else {
                            return Err(XmlDsigError::Syntax {
                                offset,
                                detail: "unterminated reference in attribute value".into(),
                            });
                        };
                        let name = rest.get(..semi).unwrap_or("");
                        out.push(resolve_reference(name, offset)?);
                        i += semi + 2;
                    }
                    b'\r' => {
                        out.push(' ');
                        i += if bytes.get(i + 1) == Some(&b'\n') {
                            2
                        } else {
                            1
                        };
                    }
                    _ => {
                        out.push(' ');
                        i += 1;
                    }
                }
                run = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(raw.get(run..).unwrap_or(""));
    Ok(Span {
        start,
        end: out.len() as u32,
    })
}
