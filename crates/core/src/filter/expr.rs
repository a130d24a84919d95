//! The shape of a filter: terms joined by AND (side by side), `or`, `!`/`-`
//! and parentheses, decided in three values so a store can settle most rows
//! from its columns and read only the rest of the events back.

use super::atom::Test;
use super::parse::{parse_word, Token};
use super::FilterError;

/// At most this many terms: each is one bit of a `u64`, the top bit spare.
pub(super) const MAX_TERMS: usize = 63;

#[derive(Debug, Clone)]
pub(super) enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    /// The index of a term in the filter's list.
    Term(usize),
}

impl Expr {
    /// `truth` holds the decided terms' values, `unknown` marks the terms not
    /// decided yet; `None` when the answer depends on them.
    pub(super) fn eval(&self, truth: u64, unknown: u64) -> Option<bool> {
        match self {
            Expr::Term(i) => (unknown >> i & 1 == 0).then_some(truth >> i & 1 == 1),
            Expr::Not(e) => e.eval(truth, unknown).map(|b| !b),
            Expr::All(es) => fold(es, truth, unknown, false),
            Expr::Any(es) => fold(es, truth, unknown, true),
        }
    }
}

/// AND (`settles` false) or OR (`settles` true): one settling value decides.
fn fold(es: &[Expr], truth: u64, unknown: u64, settles: bool) -> Option<bool> {
    let mut open = false;
    for e in es {
        match e.eval(truth, unknown) {
            Some(b) if b == settles => return Some(settles),
            Some(_) => {}
            None => open = true,
        }
    }
    (!open).then_some(!settles)
}

/// Recursive descent over the tokens: or := and ("or" and)*; and := unary+;
/// unary := ("!" | "-") unary | "(" or ")" | word.
pub(super) struct Parser<'t> {
    tokens: &'t [Token],
    next: usize,
    pub(super) terms: Vec<Test>,
}

impl<'t> Parser<'t> {
    pub(super) fn new(tokens: &'t [Token]) -> Self {
        Parser {
            tokens,
            next: 0,
            terms: Vec::new(),
        }
    }

    /// The whole filter; `None` when it is empty.
    pub(super) fn parse(&mut self) -> Result<Option<Expr>, FilterError> {
        if self.tokens.is_empty() {
            return Ok(None);
        }
        let expr = self.or()?;
        match self.tokens.get(self.next) {
            None => Ok(Some(expr)),
            Some(t) => Err(at(t.position(), "a ) without its (")),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut any = vec![self.and()?];
        while let Some(Token::Or(position)) = self.tokens.get(self.next) {
            self.next += 1;
            if self.at_end_of_group() {
                return Err(at(*position, "or needs a term after it"));
            }
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Any(any)
        })
    }

    fn at_end_of_group(&self) -> bool {
        matches!(
            self.tokens.get(self.next),
            None | Some(Token::Close(_) | Token::Or(_))
        )
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        if let Some(t) = self
            .tokens
            .get(self.next)
            .filter(|_| self.at_end_of_group())
        {
            return Err(at(t.position(), "a term is missing here"));
        }
        let mut all = Vec::new();
        while !self.at_end_of_group() {
            all.push(self.unary()?);
        }
        if all.is_empty() {
            let end = self.tokens.last().map_or(1, Token::position);
            return Err(at(end, "a term is missing at the end"));
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::All(all)
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.tokens.get(self.next) else {
            return Err(at(1, "a term is missing at the end"));
        };
        self.next += 1;
        match token {
            Token::Not(position) => {
                if self.at_end_of_group() {
                    return Err(at(*position, "! needs a term after it"));
                }
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Token::Open(position) => {
                if matches!(self.tokens.get(self.next), Some(Token::Close(_))) {
                    return Err(at(*position, "() is empty"));
                }
                let inner = self.or()?;
                match self.tokens.get(self.next) {
                    Some(Token::Close(_)) => {
                        self.next += 1;
                        Ok(inner)
                    }
                    _ => Err(at(*position, "this ( is never closed")),
                }
            }
            Token::Word {
                position,
                text,
                quoted,
            } => {
                if self.terms.len() >= MAX_TERMS {
                    return Err(at(*position, "too many terms (63 at most)"));
                }
                let test = parse_word(text, *quoted).map_err(|m| at(*position, &m))?;
                self.terms.push(test);
                Ok(Expr::Term(self.terms.len() - 1))
            }
            Token::Close(position) | Token::Or(position) => {
                Err(at(*position, "a term is missing here"))
            }
        }
    }
}

fn at(position: usize, message: &str) -> FilterError {
    FilterError {
        position,
        message: message.to_owned(),
    }
}
