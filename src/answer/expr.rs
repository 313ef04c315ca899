//! A small parser and evaluator for normalised LaTeX math expressions.
//!
//! Equivalence is decided the way a computer-algebra check would decide it, but cheaply: an
//! expression is evaluated exactly as a rational when it is pure arithmetic, and otherwise
//! numerically at fixed pseudo-random values of its variables. Two expressions with the same
//! variables and the same values at every sample point are taken as equal (a polynomial
//! identity test), which covers `2\sqrt{3}` = `\sqrt{12}` and `a(b+2)` = `ab+2a`.

use std::collections::BTreeSet;

/// Deepest nesting the parser follows before giving up; keeps hostile input off the stack.
const MAX_DEPTH: usize = 64;

/// Longest expression parsed; bounds the depth of the tree and so of evaluation.
const MAX_EXPR_BYTES: usize = 512;

/// Largest integer exponent evaluated exactly; bigger powers are left to floating point.
const MAX_EXACT_EXPONENT: i128 = 256;

/// Number of variable assignments an expression is sampled at.
pub(crate) const SAMPLES: usize = 3;

/// An exact rational `num / den` with `den > 0` and the fraction in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rational {
    num: i128,
    den: i128,
}

impl Rational {
    /// A whole number.
    pub(crate) fn int(n: i128) -> Rational {
        Rational { num: n, den: 1 }
    }

    /// `num / den` in lowest terms, or `None` for a zero denominator or overflow.
    pub(crate) fn new(num: i128, den: i128) -> Option<Rational> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den);
        let (mut num, mut den) = (num.checked_div(g)?, den.checked_div(g)?);
        if den < 0 {
            num = num.checked_neg()?;
            den = den.checked_neg()?;
        }
        Some(Rational { num, den })
    }

    /// A decimal literal such as `12.50`, exactly; `None` if it does not fit.
    fn parse_decimal(s: &str) -> Option<Rational> {
        let (int_part, frac_part) = s.split_once('.').unwrap_or((s, ""));
        let frac_part = frac_part.trim_end_matches('0');
        let mut num: i128 = 0;
        let mut den: i128 = 1;
        for c in int_part.chars().chain(frac_part.chars()) {
            num = num.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
        }
        for _ in frac_part.chars() {
            den = den.checked_mul(10)?;
        }
        Rational::new(num, den)
    }

    fn add(self, o: Rational) -> Option<Rational> {
        let num = self.num.checked_mul(o.den)?.checked_add(o.num.checked_mul(self.den)?)?;
        Rational::new(num, self.den.checked_mul(o.den)?)
    }

    fn neg(self) -> Option<Rational> {
        Some(Rational { num: self.num.checked_neg()?, den: self.den })
    }

    fn mul(self, o: Rational) -> Option<Rational> {
        Rational::new(self.num.checked_mul(o.num)?, self.den.checked_mul(o.den)?)
    }

    fn div(self, o: Rational) -> Option<Rational> {
        Rational::new(self.num.checked_mul(o.den)?, self.den.checked_mul(o.num)?)
    }

    /// `self` raised to an integer power, exactly.
    fn pow(self, exp: Rational) -> Option<Rational> {
        if exp.den != 1 || exp.num.abs() > MAX_EXACT_EXPONENT {
            return None;
        }
        let mut acc = Rational::int(1);
        for _ in 0..exp.num.unsigned_abs() {
            acc = acc.mul(self)?;
        }
        if exp.num < 0 {
            Rational::int(1).div(acc)
        } else {
            Some(acc)
        }
    }

    /// The nearest `f64`.
    pub(crate) fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

/// Greatest common divisor, never zero (so it is always a safe divisor).
fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    // `a` ≤ max(|num|, |den|) and den fits in i128 unless both were i128::MIN.
    i128::try_from(a).unwrap_or(1).max(1)
}

/// Functions applied by name (`\sin x`, `\ln(2)`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Sin,
    Cos,
    Tan,
    Cot,
    Sec,
    Csc,
    Asin,
    Acos,
    Atan,
    Ln,
    Exp,
    Sinh,
    Cosh,
    Tanh,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "cot" => Func::Cot,
            "sec" => Func::Sec,
            "csc" => Func::Csc,
            "arcsin" => Func::Asin,
            "arccos" => Func::Acos,
            "arctan" => Func::Atan,
            "ln" => Func::Ln,
            "exp" => Func::Exp,
            "sinh" => Func::Sinh,
            "cosh" => Func::Cosh,
            "tanh" => Func::Tanh,
            _ => return None,
        })
    }

    fn apply(self, x: f64) -> f64 {
        match self {
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Tan => x.tan(),
            Func::Cot => 1.0 / x.tan(),
            Func::Sec => 1.0 / x.cos(),
            Func::Csc => 1.0 / x.sin(),
            Func::Asin => x.asin(),
            Func::Acos => x.acos(),
            Func::Atan => x.atan(),
            Func::Ln => x.ln(),
            Func::Exp => x.exp(),
            Func::Sinh => x.sinh(),
            Func::Cosh => x.cosh(),
            Func::Tanh => x.tanh(),
        }
    }
}

/// An expression tree.
#[derive(Debug, Clone)]
enum Node {
    Num(Rational),
    Float(f64),
    Var(String),
    Pi,
    Neg(Box<Node>),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, Box<Node>),
    Call(Func, Box<Node>),
    Log(Box<Node>, Box<Node>),
    Factorial(Box<Node>),
}

impl Node {
    fn boxed(self) -> Box<Node> {
        Box::new(self)
    }

    /// Exact value, when the expression is pure rational arithmetic.
    fn exact(&self) -> Option<Rational> {
        match self {
            Node::Num(r) => Some(*r),
            Node::Neg(a) => a.exact()?.neg(),
            Node::Add(a, b) => a.exact()?.add(b.exact()?),
            Node::Sub(a, b) => a.exact()?.add(b.exact()?.neg()?),
            Node::Mul(a, b) => a.exact()?.mul(b.exact()?),
            Node::Div(a, b) => a.exact()?.div(b.exact()?),
            Node::Pow(a, b) => a.exact()?.pow(b.exact()?),
            Node::Factorial(a) => {
                let n = a.exact()?;
                if n.den != 1 || !(0..=33).contains(&n.num) {
                    return None;
                }
                (1..=n.num).try_fold(1i128, |acc, k| acc.checked_mul(k)).map(Rational::int)
            }
            _ => None,
        }
    }

    /// Floating-point value with variables looked up in `vars` (`(name, value)` pairs).
    fn eval(&self, vars: &[(String, f64)]) -> f64 {
        match self {
            Node::Num(r) => r.to_f64(),
            Node::Float(f) => *f,
            Node::Var(name) => vars.iter().find(|(n, _)| n == name).map_or(f64::NAN, |(_, v)| *v),
            Node::Pi => std::f64::consts::PI,
            Node::Neg(a) => -a.eval(vars),
            Node::Add(a, b) => a.eval(vars) + b.eval(vars),
            Node::Sub(a, b) => a.eval(vars) - b.eval(vars),
            Node::Mul(a, b) => a.eval(vars) * b.eval(vars),
            Node::Div(a, b) => a.eval(vars) / b.eval(vars),
            Node::Pow(a, b) => a.eval(vars).powf(b.eval(vars)),
            Node::Call(f, a) => f.apply(a.eval(vars)),
            Node::Log(base, a) => a.eval(vars).ln() / base.eval(vars).ln(),
            Node::Factorial(a) => {
                let n = a.eval(vars);
                if n.fract() != 0.0 || !(0.0..=170.0).contains(&n) {
                    return f64::NAN;
                }
                (1..=n as u32).map(f64::from).product()
            }
        }
    }

    fn collect_vars(&self, out: &mut BTreeSet<String>) {
        match self {
            Node::Var(name) => {
                out.insert(name.clone());
            }
            Node::Neg(a) | Node::Call(_, a) | Node::Factorial(a) => a.collect_vars(out),
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b)
            | Node::Div(a, b)
            | Node::Pow(a, b)
            | Node::Log(a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
            Node::Num(_) | Node::Float(_) | Node::Pi => {}
        }
    }
}

/// The comparable summary of an expression: exact value if any, its variables, and its
/// values at [`SAMPLES`] assignments of those variables.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Numeric {
    /// Exact value for pure rational arithmetic.
    pub(crate) exact: Option<Rational>,
    /// Free variables, sorted.
    pub(crate) vars: Vec<String>,
    /// Values at the sample assignments (only the first is used when `vars` is empty).
    pub(crate) samples: [f64; SAMPLES],
}

impl Numeric {
    /// Whether two summaries denote the same value.
    pub(crate) fn same(&self, other: &Numeric) -> bool {
        if let (Some(a), Some(b)) = (self.exact, other.exact) {
            return a == b;
        }
        self.vars == other.vars && self.samples.iter().zip(&other.samples).all(|(a, b)| close(*a, *b))
    }
}

/// Relative closeness for sampled values. Overflowed values (`2^{10^9}`) are never close:
/// infinity says nothing about which huge number it was.
fn close(a: f64, b: f64) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Parse and summarise a normalised expression; `None` if it is not one we understand.
pub(crate) fn numeric(s: &str) -> Option<Numeric> {
    // Chains such as `1+1+1+…` build trees as deep as they are long, and evaluation
    // recurses over them; anything this long is not a final answer anyway.
    if s.len() > MAX_EXPR_BYTES {
        return None;
    }
    let mut p = Parser { chars: s.chars().collect(), pos: 0, depth: 0 };
    let node = p.expr()?;
    if p.pos != p.chars.len() {
        return None;
    }
    let mut vars = BTreeSet::new();
    node.collect_vars(&mut vars);
    let vars: Vec<String> = vars.into_iter().collect();
    let samples = sample_at(&node, &vars, None);
    // A variable whose value never matters (`7 + 0i`) is not really free; dropping it lets
    // `7 + 0i` meet `7`.
    let vars: Vec<String> = vars
        .iter()
        .filter(|v| {
            let moved = sample_at(&node, &vars, Some(v.as_str()));
            !samples.iter().zip(&moved).all(|(a, b)| close(*a, *b))
        })
        .cloned()
        .collect();
    let exact = node.exact();
    if exact.is_none() && samples.iter().all(|v| v.is_nan()) {
        return None;
    }
    Some(Numeric { exact, vars, samples })
}

/// Values of `node` at the sample assignments of `vars`; `moved` names one variable to
/// give different values than usual, to test whether it matters.
fn sample_at(node: &Node, vars: &[String], moved: Option<&str>) -> [f64; SAMPLES] {
    let mut samples = [f64::NAN; SAMPLES];
    for (k, sample) in samples.iter_mut().enumerate() {
        let assignment: Vec<(String, f64)> = vars
            .iter()
            .map(|v| {
                let shift = if moved == Some(v.as_str()) { SAMPLES } else { 0 };
                (v.clone(), sample_value(v, k + shift))
            })
            .collect();
        *sample = node.eval(&assignment);
    }
    samples
}

/// A deterministic pseudo-random value in [0.31, 1.81) for variable `name` at sample `k`,
/// kept positive and away from 0 and 1 so that roots, logs and powers stay informative.
fn sample_value(name: &str, k: usize) -> f64 {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 29;
    0.31 + (h % 1_000_003) as f64 / 1_000_003.0 * 1.5
}

/// Recursive-descent parser over the characters of a normalised expression.
struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Read a command name after a backslash, without consuming it.
    fn peek_command(&self) -> Option<String> {
        if self.peek() != Some('\\') {
            return None;
        }
        let name: String = self.chars[self.pos + 1..].iter().take_while(|c| c.is_ascii_alphabetic()).collect();
        (!name.is_empty()).then_some(name)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// expr := term (('+' | '-') term)*
    fn expr(&mut self) -> Option<Node> {
        self.enter()?;
        let mut node = self.term()?;
        loop {
            self.skip_spaces();
            if self.eat('+') {
                node = Node::Add(node.boxed(), self.term()?.boxed());
            } else if self.eat('-') {
                node = Node::Sub(node.boxed(), self.term()?.boxed());
            } else {
                break;
            }
        }
        self.leave();
        Some(node)
    }

    /// term := unary (('*' | '/' | implicit) unary)*
    fn term(&mut self) -> Option<Node> {
        let mut node = self.unary()?;
        loop {
            self.skip_spaces();
            if self.eat('*') {
                node = Node::Mul(node.boxed(), self.unary()?.boxed());
            } else if self.eat('/') {
                node = Node::Div(node.boxed(), self.unary()?.boxed());
            } else if self.starts_factor() {
                node = Node::Mul(node.boxed(), self.power()?.boxed());
            } else {
                break;
            }
        }
        Some(node)
    }

    /// Whether the next token can begin a factor (for implicit multiplication).
    fn starts_factor(&self) -> bool {
        match self.peek() {
            Some(c) if c.is_ascii_alphanumeric() || c == '(' || c == '{' || c == '[' || c == '.' => true,
            Some('\\') => self.peek_command().is_some(),
            _ => false,
        }
    }

    /// unary := ('-' | '+') unary | power
    fn unary(&mut self) -> Option<Node> {
        self.enter()?;
        self.skip_spaces();
        let node = if self.eat('-') {
            Node::Neg(self.unary()?.boxed())
        } else if self.eat('+') {
            self.unary()?
        } else {
            self.power()?
        };
        self.leave();
        Some(node)
    }

    /// power := postfix ('^' exponent)?, right-associative.
    fn power(&mut self) -> Option<Node> {
        self.enter()?;
        let base = self.postfix()?;
        self.skip_spaces();
        let node = if self.eat('^') {
            let exp = self.exponent()?;
            Node::Pow(base.boxed(), exp.boxed())
        } else {
            base
        };
        self.leave();
        Some(node)
    }

    /// An exponent: a braced group, a signed exponent, or a whole number (`2^10` is read as
    /// `2^{10}`, as the reference grader reads it).
    fn exponent(&mut self) -> Option<Node> {
        self.enter()?;
        self.skip_spaces();
        let node = if self.eat('-') {
            Node::Neg(self.exponent()?.boxed())
        } else {
            let base = self.atom()?;
            self.skip_spaces();
            if self.eat('^') {
                Node::Pow(base.boxed(), self.exponent()?.boxed())
            } else {
                base
            }
        };
        self.leave();
        Some(node)
    }

    /// postfix := atom ('!')* with subscripts on numbers (bases such as `128_{10}`) dropped.
    fn postfix(&mut self) -> Option<Node> {
        let mut node = self.atom()?;
        loop {
            self.skip_spaces();
            if self.eat('!') {
                node = Node::Factorial(node.boxed());
            } else if self.peek() == Some('_') && matches!(node, Node::Num(_) | Node::Float(_)) {
                self.pos += 1;
                self.single_arg_raw()?;
            } else {
                break;
            }
        }
        Some(node)
    }

    /// atom := number | variable | group | command
    fn atom(&mut self) -> Option<Node> {
        self.enter()?;
        self.skip_spaces();
        let c = self.peek()?;
        let node = if c.is_ascii_digit() || c == '.' {
            let whole = self.number()?;
            self.mixed_number(whole)
        } else if c.is_ascii_alphabetic() {
            self.pos += 1;
            let name = self.with_subscript(c.to_string())?;
            Node::Var(name)
        } else if let Some(close) = match c {
            '(' => Some(')'),
            '[' => Some(']'),
            '{' => Some('}'),
            _ => None,
        } {
            self.pos += 1;
            let inner = self.expr()?;
            self.skip_spaces();
            if !self.eat(close) {
                return None;
            }
            inner
        } else if c == '\\' {
            self.command()?
        } else {
            return None;
        };
        self.leave();
        Some(node)
    }

    fn number(&mut self) -> Option<Node> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.peek() == Some('.') && self.chars.get(self.pos + 1).is_some_and(char::is_ascii_digit) {
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text.is_empty() || text == "." {
            return None;
        }
        Some(match Rational::parse_decimal(&text) {
            Some(r) => Node::Num(r),
            None => Node::Float(text.parse().ok()?),
        })
    }

    /// `137 \frac{1}{2}` is the mixed number 137½, as the reference grader reads it: a whole
    /// number directly followed by a fraction of two whole numbers.
    fn mixed_number(&mut self, whole: Node) -> Node {
        let Node::Num(w) = whole else { return whole };
        if w.den != 1 || self.peek_command().as_deref() != Some("frac") {
            return whole;
        }
        let saved = self.pos;
        if let Some(Node::Div(num, den)) = self.command() {
            if let (Node::Num(n), Node::Num(d)) = (num.as_ref(), den.as_ref()) {
                if n.den == 1 && d.den == 1 && n.num >= 0 && d.num > 0 {
                    return Node::Add(Node::Num(w).boxed(), Node::Div(num, den).boxed());
                }
            }
        }
        self.pos = saved;
        whole
    }

    /// Append a subscript (`a_1`, `x_{n}`) to a variable name.
    fn with_subscript(&mut self, mut name: String) -> Option<String> {
        if self.eat('_') {
            let sub = self.single_arg_raw()?;
            name.push('_');
            name.push_str(&sub);
        }
        Some(name)
    }

    /// The raw text of one TeX argument: a balanced `{...}` group or a single character.
    fn single_arg_raw(&mut self) -> Option<String> {
        self.skip_spaces();
        if self.eat('{') {
            let start = self.pos;
            let mut depth = 1usize;
            while let Some(c) = self.peek() {
                self.pos += 1;
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(self.chars[start..self.pos - 1].iter().collect());
                        }
                    }
                    _ => {}
                }
            }
            None
        } else {
            let c = self.peek()?;
            self.pos += 1;
            Some(c.to_string())
        }
    }

    /// One TeX argument parsed as an expression: `{...}` or a single digit / letter
    /// (`\frac12` is `\frac{1}{2}`).
    fn single_arg(&mut self) -> Option<Node> {
        self.skip_spaces();
        match self.peek()? {
            '{' => self.atom(),
            c if c.is_ascii_digit() => {
                self.pos += 1;
                Some(Node::Num(Rational::int(i128::from(c.to_digit(10)?))))
            }
            c if c.is_ascii_alphabetic() => {
                self.pos += 1;
                Some(Node::Var(c.to_string()))
            }
            '\\' => self.command(),
            _ => None,
        }
    }

    fn command(&mut self) -> Option<Node> {
        self.enter()?;
        let node = self.command_inner();
        self.leave();
        node
    }

    fn command_inner(&mut self) -> Option<Node> {
        let name = self.peek_command()?;
        self.pos += 1 + name.len();
        Some(match name.as_str() {
            "frac" => {
                let num = self.single_arg()?;
                let den = self.single_arg()?;
                Node::Div(num.boxed(), den.boxed())
            }
            "sqrt" => {
                self.skip_spaces();
                let index = if self.eat('[') {
                    let idx = self.expr()?;
                    if !self.eat(']') {
                        return None;
                    }
                    idx
                } else {
                    Node::Num(Rational::int(2))
                };
                let radicand = self.single_arg()?;
                Node::Pow(radicand.boxed(), Node::Div(Node::Num(Rational::int(1)).boxed(), index.boxed()).boxed())
            }
            "pi" => Node::Pi,
            "log" => {
                let base = if self.eat('_') { self.single_arg()? } else { Node::Num(Rational::int(10)) };
                let arg = self.function_argument()?;
                Node::Log(base.boxed(), arg.boxed())
            }
            other => match Func::from_name(other) {
                Some(f) => {
                    // `\sin^2 x` squares the result, not the argument.
                    self.skip_spaces();
                    let power = if self.eat('^') { Some(self.exponent()?) } else { None };
                    let call = Node::Call(f, self.function_argument()?.boxed());
                    match power {
                        Some(p) => Node::Pow(call.boxed(), p.boxed()),
                        None => call,
                    }
                }
                // Any other command is a named symbol (`\alpha`, `\infty`, `\emptyset`).
                None => Node::Var(self.with_subscript(format!("\\{other}"))?),
            },
        })
    }

    /// The argument of a named function: one power-level factor (`\sin 2x` is `\sin(2)x`).
    fn function_argument(&mut self) -> Option<Node> {
        self.enter()?;
        self.skip_spaces();
        let node = if self.eat('-') { Node::Neg(self.function_argument()?.boxed()) } else { self.power()? };
        self.leave();
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        match (numeric(a), numeric(b)) {
            (Some(x), Some(y)) => x.same(&y),
            _ => false,
        }
    }

    #[test]
    fn equal_expressions() {
        let cases: &[(&str, &str)] = &[
            ("1", "1.0"),
            ("54", "54.00"),
            ("0.25", "\\frac{1}{4}"),
            ("\\frac12", "0.5"),
            ("\\frac{-54}{11}", "-\\frac{54}{11}"),
            ("2^{24}", "16777216"),
            ("2^10", "1024"),
            ("\\frac{1}{2^9}", "\\frac{1}{512}"),
            ("24*20", "480"),
            ("2\\sqrt{3}", "\\sqrt{12}"),
            ("\\sqrt[3]{8}", "2"),
            ("\\frac{\\pi}{2}", "\\frac12\\pi"),
            ("a(b+2)", "ab+2a"),
            ("-10r^2+32r", "32r-10r^2"),
            ("7+0i", "7"),
            ("2^{78}", "64*2^{72}"),
            ("11^{-1}", "\\frac{1}{11}"),
            ("128_{10}", "128"),
            ("5!", "120"),
            ("\\log_2 8", "3"),
            ("\\sin^2x+\\cos^2x", "1"),
            ("x_1+x_2", "x_2+x_1"),
            ("-0", "0"),
            ("137\\frac{1}{2}", "137.5"),
            ("-2\\frac{1}{4}", "-2.25"),
            ("x\\frac{1}{2}", "\\frac{x}{2}"),
        ];
        for (a, b) in cases {
            assert!(same(a, b), "{a} should equal {b}");
        }
    }

    #[test]
    fn different_expressions() {
        let cases: &[(&str, &str)] = &[
            ("1", "2"),
            ("0.33", "\\frac{1}{3}"),
            ("x", "y"),
            ("x^2", "2x"),
            ("\\sqrt{2}", "1.414"),
            ("\\pi", "3.14"),
            ("a_1", "a_2"),
        ];
        for (a, b) in cases {
            assert!(!same(a, b), "{a} should differ from {b}");
        }
    }

    #[test]
    fn rejects_non_expressions() {
        for s in ["", "(", "1+", "\\frac{1}", "{{{", "1)", "a=b", "\\sqrt[3", "_"] {
            assert!(numeric(s).is_none(), "{s:?} should not parse");
        }
    }

    #[test]
    fn rational_arithmetic_is_checked() {
        let big = Rational::int(i128::MAX);
        assert_eq!(big.add(Rational::int(1)), None);
        assert_eq!(big.mul(Rational::int(2)), None);
        assert_eq!(Rational::new(1, 0), None);
        assert_eq!(Rational::new(i128::MIN, -1), None);
        assert_eq!(Rational::new(2, -4), Some(Rational { num: -1, den: 2 }));
        assert_eq!(Rational::parse_decimal("12.50"), Some(Rational { num: 25, den: 2 }));
        assert!(numeric("10^{100000}").is_some());
        assert!(numeric(&"9".repeat(100)).is_some());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "(".repeat(100_000) + "1" + &")".repeat(100_000);
        assert!(numeric(&deep).is_none());
        let minus = "-".repeat(100_000) + "1";
        assert!(numeric(&minus).is_none());
        let chain = "1+".repeat(200) + "1";
        assert!(numeric(&chain).is_some_and(|n| n.exact == Some(Rational::int(201))));
        let deep_chain = "x".repeat(100_000);
        assert!(numeric(&deep_chain).is_none());
    }
}
