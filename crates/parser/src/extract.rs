//! One iterative pass over a tree-sitter tree that fills a [`FileRecord`].
//!
//! The walk uses a [`TreeCursor`] and an explicit frame stack, never
//! recursion, so thousands of nested blocks or brackets cannot overflow the
//! thread's stack. Every helper that looks deeper than a node's children
//! loops instead of recursing.

use std::sync::OnceLock;

use std::num::NonZeroU16 as FieldId;

use tree_sitter::{Language, Node, Tree, TreeCursor};

use crate::decode::{count_chars, to_u32};
use crate::model::{
    Binding, BindingKind, ByteRange, Call, Comment, Diagnostic, DiagnosticKind, FileRecord, Import, ImportKind,
    ImportedName, Keyword, Parameter, ParameterKind, QualName, Unit, UnitKind,
};
use crate::strings::literal_value;

/// Longest callee text kept in a [`Call`]; longer ones end in `...`.
pub(crate) const MAX_CALLEE_LEN: usize = 200;

/// What the walk does when it enters a node of a given kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Nothing,
    Function,
    Class,
    Block,
    Call,
    Comment,
    Import,
    ImportFrom,
    FutureImport,
    Assignment,
    AugmentedAssignment,
    PrintStatement,
    ExecStatement,
    Py2NotEqual,
    TypeAlias,
}

/// Node kind and field ids of the Python grammar, looked up once.
struct Grammar {
    actions: Vec<Action>,
    decorated_definition: u16,
    decorator: u16,
    if_statement: u16,
    expression_statement: u16,
    string: u16,
    concatenated_string: u16,
    identifier: u16,
    dotted_name: u16,
    aliased_import: u16,
    relative_import: u16,
    wildcard_import: u16,
    import_prefix: u16,
    list: u16,
    tuple: u16,
    parenthesized_expression: u16,
    typed_parameter: u16,
    list_splat_pattern: u16,
    dictionary_splat_pattern: u16,
    positional_separator: u16,
    keyword_separator: u16,
    keyword_argument: u16,
    dictionary_splat: u16,
    chevron: u16,
    generic_type: u16,
    async_kw: u16,
    colon: u16,
    fields: Fields,
}

/// Field ids of the grammar (0 when a field is unknown, which matches nothing).
struct Fields {
    name: u16,
    body: u16,
    superclasses: u16,
    parameters: u16,
    condition: u16,
    r#type: u16,
    value: u16,
    left: u16,
    right: u16,
    function: u16,
    alias: u16,
    module_name: u16,
    operator: u16,
    consequence: u16,
}

fn grammar() -> &'static Grammar {
    static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let language: Language = tree_sitter_python::LANGUAGE.into();
        let named = |kind: &str| language.id_for_node_kind(kind, true);
        let anon = |kind: &str| language.id_for_node_kind(kind, false);
        let field = |name: &str| language.field_id_for_name(name).map_or(0, |id| id.get());
        let mut actions = vec![Action::Nothing; usize::from(language.node_kind_count() as u16) + 1];
        for (kind, action) in [
            ("function_definition", Action::Function),
            ("class_definition", Action::Class),
            ("block", Action::Block),
            ("call", Action::Call),
            ("comment", Action::Comment),
            ("import_statement", Action::Import),
            ("import_from_statement", Action::ImportFrom),
            ("future_import_statement", Action::FutureImport),
            ("assignment", Action::Assignment),
            ("augmented_assignment", Action::AugmentedAssignment),
            ("print_statement", Action::PrintStatement),
            ("exec_statement", Action::ExecStatement),
            ("type_alias_statement", Action::TypeAlias),
        ] {
            if let Some(slot) = actions.get_mut(usize::from(named(kind))) {
                *slot = action;
            }
        }
        if let Some(slot) = actions.get_mut(usize::from(anon("<>"))) {
            *slot = Action::Py2NotEqual;
        }
        Grammar {
            actions,
            decorated_definition: named("decorated_definition"),
            decorator: named("decorator"),
            if_statement: named("if_statement"),
            expression_statement: named("expression_statement"),
            string: named("string"),
            concatenated_string: named("concatenated_string"),
            identifier: named("identifier"),
            dotted_name: named("dotted_name"),
            aliased_import: named("aliased_import"),
            relative_import: named("relative_import"),
            wildcard_import: named("wildcard_import"),
            import_prefix: named("import_prefix"),
            list: named("list"),
            tuple: named("tuple"),
            parenthesized_expression: named("parenthesized_expression"),
            typed_parameter: named("typed_parameter"),
            list_splat_pattern: named("list_splat_pattern"),
            dictionary_splat_pattern: named("dictionary_splat_pattern"),
            positional_separator: named("positional_separator"),
            keyword_separator: named("keyword_separator"),
            keyword_argument: named("keyword_argument"),
            dictionary_splat: named("dictionary_splat"),
            chevron: named("chevron"),
            generic_type: named("generic_type"),
            async_kw: anon("async"),
            colon: anon(":"),
            fields: Fields {
                name: field("name"),
                body: field("body"),
                superclasses: field("superclasses"),
                parameters: field("parameters"),
                condition: field("condition"),
                r#type: field("type"),
                value: field("value"),
                left: field("left"),
                right: field("right"),
                function: field("function"),
                alias: field("alias"),
                module_name: field("module_name"),
                operator: field("operator"),
                consequence: field("consequence"),
            },
        }
    })
}

/// What entering a node changed, undone when the walk leaves it.
#[derive(Clone, Copy, Debug)]
enum Effect {
    None,
    /// A `def`/`class` node: the unit it created.
    Definition(u32),
    /// The body block of a unit: a scope was pushed.
    Scope,
    /// The consequence of `if TYPE_CHECKING:`.
    TypeChecking,
    /// An `ERROR` node, reported when left unless an inner error was.
    Error,
}

struct Frame<'t> {
    node: Node<'t>,
    effect: Effect,
}

#[derive(Clone, Copy)]
struct Scope {
    unit: u32,
    is_class: bool,
}

/// Options for one file's extraction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExtractOptions {
    pub(crate) max_syntax_diagnostics: usize,
}

/// Extracts everything from `tree`, parsed from `text`, into `record`
/// (whose `path`, `module` and `is_package` are already set).
pub(crate) fn extract(tree: &Tree, text: &str, record: &mut FileRecord, options: ExtractOptions) {
    let mut extractor = Extractor {
        g: grammar(),
        text,
        src: text.as_bytes(),
        record,
        frames: Vec::with_capacity(64),
        scopes: Vec::new(),
        function_depth: 0,
        type_checking_depth: 0,
        errors: Vec::new(),
        has_error: tree.root_node().has_error(),
        syntax_errors: 0,
        options,
        columns: ColumnCache::default(),
        all_is_literal: true,
    };
    extractor.module_docstring(tree.root_node());
    extractor.walk(tree.root_node().walk());
    extractor.finish();
}

struct Extractor<'a, 't> {
    g: &'static Grammar,
    text: &'a str,
    src: &'a [u8],
    record: &'a mut FileRecord,
    frames: Vec<Frame<'t>>,
    scopes: Vec<Scope>,
    function_depth: u32,
    type_checking_depth: u32,
    /// For each open `ERROR` node: whether an error was found inside it.
    errors: Vec<bool>,
    has_error: bool,
    syntax_errors: usize,
    options: ExtractOptions,
    columns: ColumnCache,
    all_is_literal: bool,
}

impl<'t> Extractor<'_, 't> {
    fn walk(&mut self, mut cursor: TreeCursor<'t>) {
        loop {
            let node = cursor.node();
            let kind = node.kind_id();
            let effect = self.enter(node, kind, &cursor);
            self.frames.push(Frame { node, effect });
            if self.descend(node, kind) && cursor.goto_first_child() {
                continue;
            }
            loop {
                self.leave();
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Whether anything below `node` can matter. A string literal other
    /// than an f-string holds no code (a tenth of all nodes); in a tree with
    /// syntax errors everything is visited, as errors may hide anywhere.
    fn descend(&self, node: Node<'t>, kind: u16) -> bool {
        if kind != self.g.string || self.has_error {
            return true;
        }
        let prefix = self.src.get(node.start_byte()..).unwrap_or_default();
        prefix.iter().take_while(|&&b| b != b'\'' && b != b'"').any(|&b| b == b'f' || b == b'F')
    }

    fn leave(&mut self) {
        let Some(frame) = self.frames.pop() else { return };
        match frame.effect {
            Effect::None | Effect::Definition(_) => {}
            Effect::Scope => {
                if let Some(scope) = self.scopes.pop()
                    && !scope.is_class
                {
                    self.function_depth -= 1;
                }
            }
            Effect::TypeChecking => self.type_checking_depth -= 1,
            Effect::Error => {
                // tree-sitter wraps whole regions around the bad tokens in
                // nested ERROR nodes: only the innermost ones say where.
                if self.errors.pop() == Some(false) {
                    self.syntax_error(frame.node);
                }
            }
        }
    }

    fn enter(&mut self, node: Node<'t>, kind: u16, cursor: &TreeCursor<'t>) -> Effect {
        if self.has_error {
            if node.is_error() {
                self.mark_inner_error();
                self.errors.push(false);
                return Effect::Error;
            }
            if node.is_missing() {
                self.mark_inner_error();
                self.missing(node);
                return Effect::None;
            }
        }
        let action = self.g.actions.get(usize::from(kind)).copied().unwrap_or(Action::Nothing);
        match action {
            Action::Nothing => Effect::None,
            Action::Function => Effect::Definition(self.unit(node, false)),
            Action::Class => Effect::Definition(self.unit(node, true)),
            Action::Block => self.block(cursor),
            Action::Call => {
                self.call(node);
                Effect::None
            }
            Action::Comment => {
                self.comment(node);
                Effect::None
            }
            Action::Import => {
                self.import(node);
                Effect::None
            }
            Action::ImportFrom => {
                self.import_from(node, false);
                Effect::None
            }
            Action::FutureImport => {
                self.import_from(node, true);
                Effect::None
            }
            Action::Assignment | Action::AugmentedAssignment => {
                if self.scopes.is_empty() {
                    self.dunder_all(node, action == Action::AugmentedAssignment);
                }
                Effect::None
            }
            Action::PrintStatement => {
                self.py2_statement(node, "print");
                Effect::None
            }
            Action::ExecStatement => {
                self.py2_statement(node, "exec");
                Effect::None
            }
            Action::TypeAlias => {
                self.type_alias(node);
                Effect::None
            }
            Action::Py2NotEqual => {
                let (line, column) = self.position(node);
                self.push_syntax(Diagnostic::error(
                    DiagnosticKind::Syntax,
                    line,
                    column,
                    "invalid syntax: `<>` is Python 2; use `!=`",
                ));
                Effect::None
            }
        }
    }

    fn finish(&mut self) {
        self.record.diagnostics.sort_by_key(|d| (d.line, d.column));
        if self.syntax_errors > self.options.max_syntax_diagnostics {
            let hidden = self.syntax_errors - self.options.max_syntax_diagnostics;
            let line = self.record.diagnostics.last().map_or(1, |d| d.line);
            self.record.diagnostics.push(Diagnostic::error(
                DiagnosticKind::Syntax,
                line,
                1,
                format!("{hidden} more syntax error(s) in this file are not listed"),
            ));
        }
        if !self.all_is_literal {
            self.record.dunder_all = None;
        }
    }

    // ----- text and positions -------------------------------------------------

    fn text_of(&self, node: Node<'_>) -> &str {
        self.text.get(node.byte_range()).unwrap_or_default()
    }

    /// 1-based line and character column of the node's start.
    fn position(&mut self, node: Node<'_>) -> (u32, u32) {
        let point = node.start_position();
        let column = self.columns.column(self.src, node.start_byte(), point.row, point.column);
        (to_u32(point.row + 1), column)
    }

    fn scope(&self) -> Option<u32> {
        self.scopes.last().map(|s| s.unit)
    }

    fn parent_frame(&self) -> Option<&Frame<'t>> {
        self.frames.last()
    }

    // ----- units ----------------------------------------------------------------

    fn unit(&mut self, node: Node<'t>, is_class: bool) -> u32 {
        let g = self.g;
        let name = node.child_by_field_id(self.g.fields.name).map(|n| self.text_of(n).to_owned()).unwrap_or_default();
        let enclosing = self.scopes.last().copied();
        let qualname = match enclosing.and_then(|s| self.record.units.get(s.unit as usize).map(|u| (u, s.is_class))) {
            None => name.clone(),
            Some((parent, true)) => format!("{}.{}", parent.qualname, name),
            Some((parent, false)) => format!("{}.<locals>.{}", parent.qualname, name),
        };
        let kind = match (is_class, enclosing) {
            (true, _) => UnitKind::Class,
            (false, Some(Scope { is_class: true, .. })) => UnitKind::Method,
            (false, _) => UnitKind::Function,
        };
        let decorated = self.parent_frame().map(|f| f.node).filter(|p| p.kind_id() == g.decorated_definition);
        let outer = decorated.unwrap_or(node);
        let mut decorators = Vec::new();
        if let Some(decorated) = decorated {
            let mut cursor = decorated.walk();
            for child in decorated.named_children(&mut cursor) {
                if child.kind_id() == g.decorator {
                    let expression = child.named_child(0).map_or("", |e| self.text_of(e));
                    decorators.push(expression.to_owned());
                }
            }
        }
        let mut is_async = false;
        let mut header_end = node.start_position().row;
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.kind_id() == g.async_kw {
                is_async = true;
            } else if child.kind_id() == g.colon {
                header_end = child.start_position().row;
            }
        }
        let body = node.child_by_field_id(self.g.fields.body);
        let docstring = body.and_then(|b| self.docstring(b));
        let (parameters, bases, keywords) = if is_class {
            let (bases, keywords) =
                node.child_by_field_id(self.g.fields.superclasses).map(|s| self.bases(s)).unwrap_or_default();
            (Vec::new(), bases, keywords)
        } else {
            (
                node.child_by_field_id(self.g.fields.parameters).map(|p| self.parameters(p)).unwrap_or_default(),
                Vec::new(),
                Vec::new(),
            )
        };
        let end = last_token_end(node);
        let index = to_u32(self.record.units.len());
        self.record.units.push(Unit {
            kind,
            is_async,
            name,
            qualname: QualName::new(qualname),
            line: to_u32(node.start_position().row + 1),
            start_line: to_u32(outer.start_position().row + 1),
            end_line: to_u32(end.1 + 1),
            header_end_line: to_u32(header_end + 1),
            bytes: ByteRange { start: outer.start_byte(), end: end.0 },
            decorators,
            docstring,
            parameters,
            bases,
            keywords,
            parent: enclosing.map(|s| s.unit),
        });
        index
    }

    fn block(&mut self, cursor: &TreeCursor<'t>) -> Effect {
        let Some(parent) = self.parent_frame() else { return Effect::None };
        let field = cursor.field_id().map_or(0, |f| f.get());
        match parent.effect {
            Effect::Definition(unit) if field == self.g.fields.body => {
                let is_class = self.record.units.get(unit as usize).is_some_and(|u| u.kind == UnitKind::Class);
                if !is_class {
                    self.function_depth += 1;
                }
                self.scopes.push(Scope { unit, is_class });
                Effect::Scope
            }
            _ if field == self.g.fields.consequence && parent.node.kind_id() == self.g.if_statement => {
                let condition =
                    parent.node.child_by_field_id(self.g.fields.condition).map_or("", |c| self.text_of(c)).trim();
                if condition == "TYPE_CHECKING" || condition.ends_with(".TYPE_CHECKING") {
                    self.type_checking_depth += 1;
                    Effect::TypeChecking
                } else {
                    Effect::None
                }
            }
            _ => Effect::None,
        }
    }

    /// The value of the docstring of a body `block` (or of the module).
    fn docstring(&self, body: Node<'_>) -> Option<String> {
        let mut cursor = body.walk();
        let first = body.named_children(&mut cursor).find(|n| !n.is_extra())?;
        if first.kind_id() != self.g.expression_statement || first.named_child_count() != 1 {
            return None;
        }
        self.string_value(first.named_child(0)?)
    }

    fn module_docstring(&mut self, root: Node<'_>) {
        self.record.docstring = self.docstring(root);
    }

    /// The value of a `string` or `concatenated_string` node holding only
    /// plain `str` literals.
    fn string_value(&self, node: Node<'_>) -> Option<String> {
        if node.kind_id() == self.g.string {
            return literal_value(self.text_of(node));
        }
        if node.kind_id() != self.g.concatenated_string {
            return None;
        }
        let mut value = String::new();
        let mut cursor = node.walk();
        for part in node.named_children(&mut cursor) {
            if part.is_extra() {
                continue;
            }
            if part.kind_id() != self.g.string {
                return None;
            }
            value.push_str(&literal_value(self.text_of(part))?);
        }
        Some(value)
    }

    fn parameters(&self, parameters: Node<'_>) -> Vec<Parameter> {
        let g = self.g;
        let mut out: Vec<Parameter> = Vec::new();
        let mut keyword_only = false;
        let mut cursor = parameters.walk();
        for p in parameters.named_children(&mut cursor) {
            let kind_id = p.kind_id();
            if p.is_extra() {
                continue;
            }
            if kind_id == g.positional_separator {
                for earlier in &mut out {
                    earlier.kind = ParameterKind::PositionalOnly;
                }
                continue;
            }
            if kind_id == g.keyword_separator {
                keyword_only = true;
                continue;
            }
            let regular = if keyword_only { ParameterKind::KeywordOnly } else { ParameterKind::Regular };
            let annotation = p.child_by_field_id(self.g.fields.r#type).map(|t| self.text_of(t).to_owned());
            let default = p.child_by_field_id(self.g.fields.value).map(|v| self.text_of(v).to_owned());
            // `typed_parameter` holds its name (maybe a splat) as an unnamed-field child.
            let target = if kind_id == g.typed_parameter {
                p.named_child(0).unwrap_or(p)
            } else {
                p.child_by_field_id(self.g.fields.name).unwrap_or(p)
            };
            let (name_node, kind) = if target.kind_id() == g.list_splat_pattern {
                keyword_only = true;
                (target.named_child(0).unwrap_or(target), ParameterKind::VarPositional)
            } else if target.kind_id() == g.dictionary_splat_pattern {
                (target.named_child(0).unwrap_or(target), ParameterKind::VarKeyword)
            } else {
                (target, regular)
            };
            out.push(Parameter { name: self.text_of(name_node).to_owned(), kind, annotation, default });
        }
        out
    }

    fn bases(&self, arguments: Node<'_>) -> (Vec<String>, Vec<Keyword>) {
        let mut bases = Vec::new();
        let mut keywords = Vec::new();
        let mut cursor = arguments.walk();
        for arg in arguments.named_children(&mut cursor) {
            if arg.is_extra() {
                continue;
            }
            if arg.kind_id() == self.g.keyword_argument {
                keywords.push(Keyword {
                    name: arg.child_by_field_id(self.g.fields.name).map(|n| self.text_of(n).to_owned()),
                    value: arg.child_by_field_id(self.g.fields.value).map_or("", |v| self.text_of(v)).to_owned(),
                });
            } else if arg.kind_id() == self.g.dictionary_splat {
                keywords.push(Keyword { name: None, value: self.text_of(arg).to_owned() });
            } else {
                bases.push(self.text_of(arg).to_owned());
            }
        }
        (bases, keywords)
    }

    // ----- calls and comments -----------------------------------------------------

    /// tree-sitter-python reads `type(obj).attr = value` as a Python 3.12
    /// `type` alias statement (`type` then `(obj).attr`), dropping the call
    /// node. A real alias names an identifier (or a generic one); anything
    /// else is that assignment, and the call to `type` is put back.
    fn type_alias(&mut self, node: Node<'_>) {
        let Some(left) = node.child_by_field_id(self.g.fields.left) else { return };
        let name = left.named_child(0).unwrap_or(left);
        if name.kind_id() == self.g.identifier || name.kind_id() == self.g.generic_type {
            return;
        }
        let (line, column) = self.position(node);
        let unit = self.scope();
        self.record.calls.push(Call { callee: "type".to_owned(), line, column, unit });
    }

    fn call(&mut self, node: Node<'_>) {
        let Some(function) = node.child_by_field_id(self.g.fields.function) else { return };
        let (line, column) = self.position(function);
        let callee = truncate(self.text_of(function), MAX_CALLEE_LEN);
        let unit = self.scope();
        self.record.calls.push(Call { callee, line, column, unit });
    }

    fn comment(&mut self, node: Node<'_>) {
        let start = node.start_byte();
        let line_start = memchr::memrchr(b'\n', &self.src[..start]).map_or(0, |i| i + 1);
        let own_line = self.src[line_start..start].iter().all(|b| matches!(b, b' ' | b'\t' | b'\x0c'));
        let (line, column) = self.position(node);
        let text = self.text_of(node).to_owned();
        self.record.comments.push(Comment { text, line, column, own_line });
    }

    // ----- imports -----------------------------------------------------------------

    /// A dotted name with any whitespace or line continuations removed.
    fn dotted(&self, node: Node<'_>) -> String {
        let mut out = String::new();
        let mut cursor = node.walk();
        for part in node.named_children(&mut cursor) {
            if part.kind_id() == self.g.identifier {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(self.text_of(part));
            }
        }
        out
    }

    /// `(name, alias)` of a `dotted_name` or `aliased_import` node.
    fn name_and_alias(&self, node: Node<'_>) -> Option<(String, Option<String>)> {
        if node.kind_id() == self.g.dotted_name {
            Some((self.dotted(node), None))
        } else if node.kind_id() == self.g.aliased_import {
            let name = node.child_by_field_id(self.g.fields.name).map(|n| self.dotted(n))?;
            let alias = node.child_by_field_id(self.g.fields.alias).map(|a| self.text_of(a).to_owned());
            Some((name, alias))
        } else {
            None
        }
    }

    fn import(&mut self, node: Node<'_>) {
        let line = to_u32(node.start_position().row + 1);
        let mut cursor = node.walk();
        let names: Vec<_> = node
            .children_by_field_id(field_id(self.g.fields.name), &mut cursor)
            .filter_map(|n| self.name_and_alias(n))
            .collect();
        for (module, alias) in names {
            let (local, target) = match &alias {
                Some(alias) => (alias.clone(), module.clone()),
                None => {
                    let top = module.split('.').next().unwrap_or_default().to_owned();
                    (top.clone(), top)
                }
            };
            self.bind(local, target, BindingKind::Module, line);
            self.record.imports.push(Import {
                kind: ImportKind::Import,
                module,
                level: 0,
                alias,
                names: Vec::new(),
                line,
                type_checking: self.type_checking_depth > 0,
                in_function: self.function_depth > 0,
                scope: self.scope(),
            });
        }
    }

    fn import_from(&mut self, node: Node<'_>, is_future: bool) {
        let g = self.g;
        let line = to_u32(node.start_position().row + 1);
        let (module, level) = if is_future {
            ("__future__".to_owned(), 0)
        } else {
            match node.child_by_field_id(self.g.fields.module_name) {
                Some(m) if m.kind_id() == g.relative_import => {
                    let mut level = 0;
                    let mut module = String::new();
                    let mut cursor = m.walk();
                    for part in m.named_children(&mut cursor) {
                        if part.kind_id() == g.import_prefix {
                            level += to_u32(self.text_of(part).bytes().filter(|&b| b == b'.').count());
                        } else if part.kind_id() == g.dotted_name {
                            module = self.dotted(part);
                        }
                    }
                    (module, level)
                }
                Some(m) => (self.dotted(m), 0),
                None => (String::new(), 0),
            }
        };
        let mut names = Vec::new();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if child.kind_id() == g.wildcard_import {
                names.push(ImportedName { name: "*".to_owned(), alias: None });
            }
        }
        let mut cursor = node.walk();
        for child in node.children_by_field_id(field_id(self.g.fields.name), &mut cursor) {
            if let Some((name, alias)) = self.name_and_alias(child) {
                names.push(ImportedName { name, alias });
            }
        }
        match crate::names::resolve_relative(self.record.module.as_str(), self.record.is_package, &module, level) {
            Some(base) => {
                for n in names.iter().filter(|n| n.name != "*") {
                    let target = if base.is_empty() { n.name.clone() } else { format!("{base}.{}", n.name) };
                    let local = n.alias.clone().unwrap_or_else(|| n.name.clone());
                    self.bind(local, target, BindingKind::From, line);
                }
            }
            None => {
                let (line, column) = self.position(node);
                self.record.diagnostics.push(Diagnostic::warning(
                    DiagnosticKind::Import,
                    line,
                    column,
                    format!(
                        "relative import `from {}{} import ...` goes beyond the top-level package of module `{}`",
                        ".".repeat(level as usize),
                        module,
                        self.record.module
                    ),
                ));
            }
        }
        self.record.imports.push(Import {
            kind: ImportKind::From,
            module,
            level,
            alias: None,
            names,
            line,
            type_checking: self.type_checking_depth > 0,
            in_function: self.function_depth > 0,
            scope: self.scope(),
        });
    }

    fn bind(&mut self, name: String, target: String, kind: BindingKind, line: u32) {
        if name.is_empty() {
            return;
        }
        let scope = self.scope();
        let type_checking = self.type_checking_depth > 0;
        self.record.bindings.push(Binding { name, target, kind, line, scope, type_checking });
    }

    // ----- __all__ ---------------------------------------------------------------------

    fn dunder_all(&mut self, node: Node<'_>, augmented: bool) {
        let Some(left) = node.child_by_field_id(self.g.fields.left) else { return };
        if left.kind_id() != self.g.identifier || self.text_of(left) != "__all__" {
            return;
        }
        if augmented && node.child_by_field_id(self.g.fields.operator).is_some_and(|op| self.text_of(op) != "+=") {
            self.all_is_literal = false;
            return;
        }
        let values = node.child_by_field_id(self.g.fields.right).and_then(|r| self.string_list(r));
        match (values, augmented) {
            (Some(values), false) => self.record.dunder_all = Some(values),
            (Some(values), true) => self.record.dunder_all.get_or_insert_with(Vec::new).extend(values),
            (None, _) => self.all_is_literal = false,
        }
    }

    /// The strings of a list or tuple literal of plain strings.
    fn string_list(&self, node: Node<'_>) -> Option<Vec<String>> {
        let g = self.g;
        let mut node = node;
        while node.kind_id() == g.parenthesized_expression {
            node = node.named_child(0)?;
        }
        if node.kind_id() != g.list && node.kind_id() != g.tuple {
            return None;
        }
        let mut cursor = node.walk();
        node.named_children(&mut cursor).filter(|n| !n.is_extra()).map(|n| self.string_value(n)).collect()
    }

    // ----- diagnostics -------------------------------------------------------------------

    fn push_syntax(&mut self, diagnostic: Diagnostic) {
        self.syntax_errors += 1;
        if self.syntax_errors <= self.options.max_syntax_diagnostics {
            self.record.diagnostics.push(diagnostic);
        }
    }

    fn mark_inner_error(&mut self) {
        if let Some(inner) = self.errors.last_mut() {
            *inner = true;
        }
    }

    fn syntax_error(&mut self, node: Node<'_>) {
        let (line, column) = self.position(node);
        let snippet = self.text_of(node).lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        let message = if snippet.is_empty() {
            "invalid syntax".to_owned()
        } else {
            format!("invalid syntax near `{}`", truncate(snippet, 60))
        };
        self.push_syntax(Diagnostic::error(DiagnosticKind::Syntax, line, column, message));
    }

    fn missing(&mut self, node: Node<'_>) {
        let (line, column) = self.position(node);
        let what = node.kind().trim_start_matches('_');
        let message = match what {
            "newline" => "invalid syntax: expected the end of the statement".to_owned(),
            "block" | "indent" => "expected an indented block".to_owned(),
            "dedent" => "unindent does not match any outer indentation level".to_owned(),
            _ if node.is_named() => format!("invalid syntax: missing {what}"),
            _ => format!("invalid syntax: missing `{what}`"),
        };
        self.push_syntax(Diagnostic::error(DiagnosticKind::Syntax, line, column, message));
    }

    /// `print x` / `exec code` without parentheses: Python 2 syntax that
    /// tree-sitter-python accepts and CPython 3 rejects. `print >>f, x` and
    /// `print (x), y` are valid (if useless) Python 3 expressions.
    fn py2_statement(&mut self, node: Node<'_>, keyword: &str) {
        let mut cursor = node.walk();
        let mut first = None;
        for child in node.named_children(&mut cursor) {
            if child.is_extra() {
                continue;
            }
            if keyword == "print" && child.kind_id() == self.g.chevron {
                return;
            }
            first = Some(child);
            break;
        }
        let Some(first) = first else { return };
        if self.text_of(first).starts_with('(') {
            return;
        }
        let (line, column) = self.position(node);
        self.push_syntax(Diagnostic::error(
            DiagnosticKind::Syntax,
            line,
            column,
            format!("Missing parentheses in call to '{keyword}'. Did you mean {keyword}(...)? (Python 2 syntax)"),
        ));
    }
}

/// End byte and row of the last token of `node` that is not a comment or a
/// line continuation (as `ast` `end_lineno`, which ignores comments).
fn last_token_end(node: Node<'_>) -> (usize, usize) {
    let mut current = node;
    loop {
        let count = current.child_count();
        let last =
            (0..count).rev().filter_map(|i| current.child(i)).find(|c| !c.is_extra() && !c.byte_range().is_empty());
        match last {
            Some(child) => current = child,
            None => return (current.end_byte(), current.end_position().row),
        }
    }
}

/// `id` as a [`FieldId`]; an unknown field (0) becomes one that matches nothing.
fn field_id(id: u16) -> FieldId {
    FieldId::new(id).unwrap_or(FieldId::MAX)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Turns tree-sitter's byte columns into character columns. Nodes arrive in
/// source order, so counting resumes from the previous node on the same
/// row: a file of one huge line stays linear.
#[derive(Default)]
struct ColumnCache {
    row: usize,
    byte: usize,
    chars: usize,
}

impl ColumnCache {
    fn column(&mut self, src: &[u8], offset: usize, row: usize, byte_column: usize) -> u32 {
        let line_start = offset.saturating_sub(byte_column);
        if row != self.row || offset < self.byte || self.byte < line_start {
            self.row = row;
            self.byte = line_start;
            self.chars = 0;
        }
        self.chars += count_chars(src.get(self.byte..offset).unwrap_or_default());
        self.byte = offset;
        to_u32(self.chars + 1)
    }
}
