//! The parser: text to [`Module`]. Scannerless recursive descent over a [`Cursor`]; every
//! error is an [`Error::Parse`] with a 1-based line and column, and no input panics.

use super::attrs::{build_op, template, unknown_op_message, RawAttr, RawValue};
use super::cursor::{Atom, Cursor};
use super::syntax::{parse_f32, parse_f64};
use super::ty;
use crate::{
    ConstId, DType, Data, Error, Module, Node, Op, RequantMode, Result, Tensor, TensorType, Value,
    ValueId,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Parses a module printed by [`super::print_module`] (or written by hand).
pub fn parse_module(src: &str) -> Result<Module> {
    Parser::new(src).module()
}

/// Parses one tensor type such as `tensor<Nx3xu8, q(0.5, 128)>`; surrounding blanks are
/// allowed, anything else after the type is an error.
pub fn parse_type(s: &str) -> Result<TensorType> {
    let mut c = Cursor::new(s);
    let t = ty::parse_type(&mut c)?;
    if !c.at_end() {
        let found = c.found();
        return Err(c.error(format!("unexpected {found} after the type")));
    }
    Ok(t)
}

/// A `%name#id` or `@name#id` reference as written.
struct Ref {
    name: String,
    id: Option<u32>,
    at: usize,
}

impl Ref {
    /// The reference as written, for messages.
    fn spelled(&self, sigil: char) -> String {
        spelled(sigil, &self.name, self.id)
    }
}

/// `%name#id` in printer syntax, for messages.
fn spelled(sigil: char, name: &str, id: Option<u32>) -> String {
    let mut s = String::from(sigil);
    if !name.is_empty() {
        s.push_str(&super::syntax::name(name));
    }
    if let Some(id) = id {
        s.push_str(&format!("#{id}"));
    }
    s
}

struct Parser<'a> {
    c: Cursor<'a>,
    m: Module,
    /// Constant ids by name.
    const_names: HashMap<String, Vec<u32>>,
    /// Values defined so far, by id, with the offset of their definition.
    values: BTreeMap<u32, (Value, usize)>,
    /// Value ids by name, in definition order.
    value_names: HashMap<String, Vec<u32>>,
    /// The id an implicit (`#`-less) definition gets: one past the largest so far.
    next_id: u64,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            c: Cursor::new(src),
            m: Module::default(),
            const_names: HashMap::new(),
            values: BTreeMap::new(),
            value_names: HashMap::new(),
            next_id: 0,
        }
    }

    fn err_at(&self, at: usize, msg: impl Into<String>) -> Error {
        self.c.error_at(at, msg)
    }

    /// `module @name [requant=mode] const* func`.
    fn module(mut self) -> Result<Module> {
        self.c
            .expect_keyword("module", "'module' at the start of the input")?;
        let r = self.sym_ref('@', "the module name")?;
        if r.id.is_some() {
            return Err(self.err_at(r.at, "a module name takes no '#id'"));
        }
        self.m.name = r.name;
        if self.c.eat_keyword("requant") {
            self.c.expect('=', "'=' after 'requant'")?;
            self.m.requant = match self.c.word() {
                Some((w, _)) if w == "float" => RequantMode::Float,
                Some((w, _)) if w == "fixed_point" => RequantMode::FixedPoint,
                Some((w, at)) => {
                    return Err(self.err_at(
                        at,
                        format!("unknown requant mode '{w}' (expected float or fixed_point)"),
                    ))
                }
                None => {
                    let found = self.c.found();
                    return Err(self
                        .c
                        .error(format!("expected a requant mode, found {found}")));
                }
            };
        }
        while self.c.eat_keyword("const") {
            self.constant()?;
        }
        self.c.expect_keyword("func", "'const' or 'func'")?;
        self.func()?;
        if !self.c.at_end() {
            let found = self.c.found();
            return Err(self
                .c
                .error(format!("unexpected {found} after the end of the function")));
        }
        self.finish_values()?;
        Ok(self.m)
    }

    /// Reads `SIGIL name [#id]` (blanks allowed before the sigil only).
    fn sym_ref(&mut self, sigil: char, what: &str) -> Result<Ref> {
        self.c.skip_ws();
        let at = self.c.pos();
        if self.c.peek() != Some(sigil) {
            let found = self.c.found();
            return Err(self
                .c
                .error(format!("expected {what} ('{sigil}name'), found {found}")));
        }
        self.c.bump();
        let name_at = self.c.pos();
        let name = self.c.name()?;
        let id = self.c.id_suffix()?;
        if self.c.pos() == name_at {
            return Err(self.err_at(at, format!("expected a name or '#id' after '{sigil}'")));
        }
        Ok(Ref { name, id, at })
    }

    // ---- constants ----

    /// `const @name : TYPE = DATA [: TYPE]` (after `const`).
    fn constant(&mut self) -> Result<()> {
        let r = self.sym_ref('@', "a constant name")?;
        let pos = self.m.consts.len();
        match r.id {
            Some(id) if id as usize != pos => {
                return Err(self.err_at(
                    r.at,
                    format!(
                        "constant {} has id #{id} but is constant #{pos} of the table",
                        r.spelled('@')
                    ),
                ))
            }
            None if self.const_names.contains_key(&r.name) => {
                return Err(self.err_at(r.at, format!("constant {} defined twice", r.spelled('@'))))
            }
            _ => {}
        }
        self.c.expect(':', "':' and the constant's type")?;
        let ty = ty::parse_type(&mut self.c)?;
        self.c.expect('=', "'=' and the constant's data")?;
        self.c.skip_ws();
        let data_at = self.c.pos();
        let raw = self.const_data()?;
        let (dtype, shape) = if self.c.eat(':') {
            self.c.skip_ws();
            let at = self.c.pos();
            let t = ty::parse_type(&mut self.c)?;
            let dims = t
                .fixed_dims()
                .filter(|_| t.quant.is_none())
                .ok_or_else(|| {
                    self.err_at(
                        at,
                        "the data type of a constant must have fixed dims and no q(...)",
                    )
                })?;
            (t.dtype, dims)
        } else {
            let dims = ty.fixed_dims().ok_or_else(|| {
                self.err_at(
                    data_at,
                    "a constant with symbolic or unknown dims needs its data's type after the data ('= ... : tensor<...>')",
                )
            })?;
            (ty.dtype, dims)
        };
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| self.err_at(data_at, "constant element count overflows"))?;
        let data = match raw {
            RawData::Dense(items) => {
                if items.len() != count {
                    return Err(self.err_at(
                        data_at,
                        format!(
                            "constant has {} elements but its shape needs {count}",
                            items.len()
                        ),
                    ));
                }
                self.dense(dtype, &items)?
            }
            RawData::Hex(bytes) => {
                let want = count.checked_mul(dtype.size());
                if want != Some(bytes.len()) {
                    return Err(self.err_at(
                        data_at,
                        format!(
                            "constant has {} bytes but {count} x {} needs {}",
                            bytes.len(),
                            dtype.name(),
                            want.map_or("more".into(), |w| w.to_string())
                        ),
                    ));
                }
                Data::from_le_bytes(dtype, &bytes)
                    .ok_or_else(|| self.err_at(data_at, "bad constant byte count"))?
            }
        };
        let tensor = Tensor::try_new(shape, data)
            .ok_or_else(|| self.err_at(data_at, "constant data does not match its shape"))?;
        self.const_names
            .entry(r.name.clone())
            .or_default()
            .push(pos as u32);
        self.m.consts.push(crate::Constant {
            name: r.name,
            ty,
            data: Arc::new(tensor),
        });
        Ok(())
    }

    /// `dense<[...]>`, `hex<"...">`, or the unparseable `<elided ...>`.
    fn const_data(&mut self) -> Result<RawData> {
        self.c.skip_ws();
        let at = self.c.pos();
        if self.c.peek() == Some('<') {
            return Err(self.err_at(
                at,
                "elided constant data cannot be parsed (print without elide_large_constants)",
            ));
        }
        if self.c.eat_keyword("dense") {
            self.c.expect('<', "'<' after 'dense'")?;
            let (items, _) = self.c.atom_list("the dense elements")?;
            self.c.expect('>', "'>' to close 'dense<[...]>'")?;
            Ok(RawData::Dense(items))
        } else if self.c.eat_keyword("hex") {
            self.c.expect('<', "'<' after 'hex'")?;
            self.c.skip_ws();
            let s_at = self.c.pos();
            let s = self.c.string()?;
            self.c.expect('>', "'>' to close 'hex<\"...\">'")?;
            let bytes = decode_hex(&s).ok_or_else(|| {
                self.err_at(
                    s_at,
                    "invalid hex data (expected an even number of hex digits)",
                )
            })?;
            Ok(RawData::Hex(bytes))
        } else {
            let found = self.c.found();
            Err(self.c.error(format!(
                "expected constant data 'dense<[...]>' or 'hex<\"...\">', found {found}"
            )))
        }
    }

    /// Converts dense literals to a buffer of `dtype`, checking each element's range.
    fn dense(&self, dtype: DType, items: &[Atom]) -> Result<Data> {
        let bad =
            |s: &str, at: usize| self.err_at(at, format!("invalid {} element '{s}'", dtype.name()));
        Ok(match dtype {
            DType::F32 => Data::F32(
                items
                    .iter()
                    .map(|(s, at)| parse_f32(s).ok_or_else(|| bad(s, *at)))
                    .collect::<Result<_>>()?,
            ),
            DType::F64 => Data::F64(
                items
                    .iter()
                    .map(|(s, at)| parse_f64(s).ok_or_else(|| bad(s, *at)))
                    .collect::<Result<_>>()?,
            ),
            DType::Bool => Data::Bool(
                items
                    .iter()
                    .map(|(s, at)| match s.as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(bad(s, *at)),
                    })
                    .collect::<Result<_>>()?,
            ),
            _ => {
                fn ints<T: std::str::FromStr>(
                    items: &[Atom],
                    bad: &dyn Fn(&str, usize) -> Error,
                ) -> Result<Vec<T>> {
                    items
                        .iter()
                        .map(|(s, at)| s.parse().map_err(|_| bad(s, *at)))
                        .collect()
                }
                match dtype {
                    DType::I8 => Data::I8(ints(items, &bad)?),
                    DType::U8 => Data::U8(ints(items, &bad)?),
                    DType::I16 => Data::I16(ints(items, &bad)?),
                    DType::U16 => Data::U16(ints(items, &bad)?),
                    DType::I32 => Data::I32(ints(items, &bad)?),
                    DType::U32 => Data::U32(ints(items, &bad)?),
                    DType::I64 => Data::I64(ints(items, &bad)?),
                    _ => Data::U64(ints(items, &bad)?),
                }
            }
        })
    }

    /// Resolves `@name` / `@name#id` to a constant.
    fn const_ref(&mut self) -> Result<ConstId> {
        let r = self.sym_ref('@', "a constant reference")?;
        let found = match r.id {
            Some(id) => self
                .m
                .consts
                .get(id as usize)
                .filter(|c| c.name == r.name)
                .map(|_| id),
            None => match self.const_names.get(&r.name).map(Vec::as_slice) {
                Some([id]) => Some(*id),
                Some(ids) if ids.len() > 1 => {
                    return Err(self.err_at(
                        r.at,
                        format!(
                            "ambiguous constant {}: {} constants share the name; write {}#ID",
                            r.spelled('@'),
                            ids.len(),
                            r.spelled('@')
                        ),
                    ))
                }
                _ => None,
            },
        };
        found
            .map(ConstId)
            .ok_or_else(|| self.err_at(r.at, format!("undefined constant {}", r.spelled('@'))))
    }

    // ---- values ----

    /// Defines a value written `r` with type `ty`.
    fn define(&mut self, r: Ref, ty: TensorType) -> Result<ValueId> {
        let id = match r.id {
            Some(id) => {
                if self.values.contains_key(&id) {
                    return Err(
                        self.err_at(r.at, format!("value {} defined twice", r.spelled('%')))
                    );
                }
                id
            }
            None => {
                if self.value_names.contains_key(&r.name) {
                    return Err(
                        self.err_at(r.at, format!("value {} defined twice", r.spelled('%')))
                    );
                }
                u32::try_from(self.next_id).map_err(|_| self.err_at(r.at, "too many values"))?
            }
        };
        self.next_id = self.next_id.max(u64::from(id) + 1);
        self.value_names.entry(r.name.clone()).or_default().push(id);
        self.values.insert(id, (Value { name: r.name, ty }, r.at));
        Ok(ValueId(id))
    }

    /// Resolves a use of `%name` / `%name#id`.
    fn use_value(&mut self) -> Result<ValueId> {
        let r = self.sym_ref('%', "a value")?;
        let id = match r.id {
            Some(id) => match self.values.get(&id) {
                Some((v, _)) if v.name == r.name => Some(id),
                Some((v, _)) => {
                    let msg = format!(
                        "value #{id} is named {}, not {}",
                        spelled('%', &v.name, None),
                        spelled('%', &r.name, None)
                    );
                    return Err(self.err_at(r.at, msg));
                }
                None => None,
            },
            None => match self.value_names.get(&r.name).map(Vec::as_slice) {
                Some([id]) => Some(*id),
                Some(ids) if ids.len() > 1 => {
                    return Err(self.err_at(
                        r.at,
                        format!(
                            "ambiguous value {}: {} values share the name; write {}#ID",
                            r.spelled('%'),
                            ids.len(),
                            r.spelled('%')
                        ),
                    ))
                }
                _ => None,
            },
        };
        id.map(ValueId)
            .ok_or_else(|| self.err_at(r.at, format!("use of undefined value {}", r.spelled('%'))))
    }

    /// Moves the values into the graph, checking that ids are 0..n without gaps; a gap is
    /// reported at the definition of the first id after it.
    fn finish_values(&mut self) -> Result<()> {
        let values = std::mem::take(&mut self.values);
        let gap = values.iter().zip(0u32..).find(|((id, _), i)| *id != i);
        if let Some(((_, (_, at)), missing)) = gap {
            return Err(self.err_at(
                *at,
                format!(
                    "value ids are not contiguous: no value has id #{missing} (declare unused values with 'orphan')"
                ),
            ));
        }
        self.m.graph.values = values.into_values().map(|(v, _)| v).collect();
        Ok(())
    }

    // ---- the function ----

    /// `@main(%in: TYPE, ...) { stmt* return ... }` (after `func`).
    fn func(&mut self) -> Result<()> {
        let r = self.sym_ref('@', "the function name '@main'")?;
        if r.name != "main" || r.id.is_some() {
            return Err(self.err_at(
                r.at,
                format!("the function must be named @main, not {}", r.spelled('@')),
            ));
        }
        self.c.expect('(', "'(' and the graph inputs")?;
        if !self.c.eat(')') {
            loop {
                let r = self.sym_ref('%', "a graph input")?;
                self.c.expect(':', "':' and the input's type")?;
                let t = ty::parse_type(&mut self.c)?;
                let v = self.define(r, t)?;
                self.m.graph.inputs.push(v);
                if self.c.eat(')') {
                    break;
                }
                self.c.expect(',', "',' or ')' after a graph input")?;
            }
        }
        self.c.expect('{', "'{' to open the function body")?;
        loop {
            match self.c.peek_tok() {
                Some('%') => {
                    let mut results = vec![self.sym_ref('%', "a result")?];
                    while self.c.eat(',') {
                        results.push(self.sym_ref('%', "a result")?);
                    }
                    self.c.expect('=', "'=' after the results")?;
                    self.node(results)?;
                }
                Some('}') => {
                    return Err(self.c.error("expected 'return' before '}'"));
                }
                None => {
                    return Err(self
                        .c
                        .error("unexpected end of input inside the function body"));
                }
                _ => {
                    if self.c.eat_keyword("return") {
                        return self.ret();
                    } else if self.c.eat_keyword("orphan") {
                        let r = self.sym_ref('%', "a value")?;
                        self.c.expect(':', "':' and the orphan's type")?;
                        let t = ty::parse_type(&mut self.c)?;
                        self.define(r, t)?;
                    } else {
                        self.node(Vec::new())?;
                    }
                }
            }
        }
    }

    /// `return [%v, ...] }`.
    fn ret(&mut self) -> Result<()> {
        if self.c.peek_tok() == Some('%') {
            loop {
                let v = self.use_value()?;
                self.m.graph.outputs.push(v);
                if !self.c.eat(',') {
                    break;
                }
            }
        }
        self.c.expect('}', "'}' after 'return'")
    }

    /// `mnemonic [@const,] [%operands] [{attrs}] [: types] [loc("name")]` after the results.
    fn node(&mut self, results: Vec<Ref>) -> Result<()> {
        let Some((mnemonic, at)) = self.c.word() else {
            let found = self.c.found();
            return Err(self.c.error(format!("expected an op name, found {found}")));
        };
        if template(&mnemonic).is_none() {
            return Err(self.err_at(at, unknown_op_message(&mnemonic)));
        }
        let mut inputs = Vec::new();
        let mut const_id = None;
        let mut operands = self.c.peek_tok() == Some('%');
        if results.is_empty() && operands {
            // A node without results or operands: the `%` starts the next statement.
            operands = !self.starts_results();
        }
        if mnemonic == "const" {
            const_id = Some(self.const_ref()?);
            operands = self.c.eat(',');
        }
        if operands {
            loop {
                inputs.push(self.use_value()?);
                if !self.c.eat(',') {
                    break;
                }
            }
        }
        let attrs = if self.c.peek_tok() == Some('{') {
            self.attr_dict()?
        } else {
            Vec::new()
        };
        let mut op = build_op(&self.c, &mnemonic, at, &attrs)?;
        if let Some(id) = const_id {
            op = Op::Const(id);
        }
        let mut types = Vec::new();
        if !results.is_empty() {
            let n = results.len();
            if !self.c.eat(':') {
                let found = self.c.found();
                return Err(self.c.error(format!(
                    "expected ':' and the result type{} after the operands, found {found}",
                    if n == 1 { "" } else { "s" }
                )));
            }
            for i in 0..n {
                if i > 0 && !self.c.eat(',') {
                    let found = self.c.found();
                    return Err(self.c.error(format!(
                        "expected ',' and another result type ('{mnemonic}' defines {n} results here), found {found}"
                    )));
                }
                types.push(ty::parse_type(&mut self.c)?);
            }
            if self.c.peek_tok() == Some(',') {
                return Err(self.c.error(format!(
                    "too many result types: '{mnemonic}' defines {n} result{} here",
                    if n == 1 { "" } else { "s" }
                )));
            }
        }
        let name = if self.c.eat_keyword("loc") {
            self.c.expect('(', "'(' after 'loc'")?;
            let s = self.c.string()?;
            self.c.expect(')', "')' to close 'loc(...)'")?;
            s
        } else {
            String::new()
        };
        let mut outputs = Vec::with_capacity(results.len());
        for (r, t) in results.into_iter().zip(types) {
            outputs.push(self.define(r, t)?);
        }
        self.m.graph.nodes.push(Node {
            name,
            op,
            inputs,
            outputs,
        });
        Ok(())
    }

    /// Looks ahead (without consuming) for `%a, %b =`, the start of a statement.
    fn starts_results(&mut self) -> bool {
        let save = self.c.pos();
        let mut is_results = false;
        while self.sym_ref('%', "a value").is_ok() {
            if !self.c.eat(',') {
                is_results = self.c.eat('=');
                break;
            }
        }
        self.c.set_pos(save);
        is_results
    }

    /// `{key=value, ...}`; a value is a literal or a list of literals.
    fn attr_dict(&mut self) -> Result<Vec<RawAttr>> {
        self.c.expect('{', "'{'")?;
        let mut attrs: Vec<RawAttr> = Vec::new();
        if self.c.eat('}') {
            return Ok(attrs);
        }
        loop {
            let Some((key, at)) = self.c.word() else {
                let found = self.c.found();
                return Err(self
                    .c
                    .error(format!("expected an attribute name, found {found}")));
            };
            if attrs.iter().any(|a| a.key == key) {
                return Err(self.err_at(at, format!("duplicate attribute '{key}'")));
            }
            self.c
                .expect('=', &format!("'=' after attribute '{key}'"))?;
            let value = if self.c.peek_tok() == Some('[') {
                let (items, open) = self.c.atom_list(&format!("attribute '{key}'"))?;
                RawValue::List(items, open)
            } else {
                match self.c.atom() {
                    Some(a) => RawValue::Atom(a),
                    None => {
                        let found = self.c.found();
                        return Err(self.c.error(format!(
                            "expected a value for attribute '{key}', found {found}"
                        )));
                    }
                }
            };
            attrs.push(RawAttr { key, at, value });
            if self.c.eat('}') {
                return Ok(attrs);
            }
            self.c.expect(',', "',' or '}' in the attributes")?;
        }
    }
}

/// Constant data as read, before conversion to the element type.
enum RawData {
    Dense(Vec<Atom>),
    Hex(Vec<u8>),
}

/// Decodes an even-length string of hex digits.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 == 1 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    b.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}
