//! Errors that say where: file, line, column and key. A leaf, so that every module can check
//! its own configuration table and report its mistakes the same way.

use std::fmt;
use std::ops::{Bound, Range, RangeBounds};
use std::path::{Path, PathBuf};

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (an unreadable file).
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `plugins.password-spray.grants[1]`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a config, so an admin fixes them in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors against one file's text, turning byte spans into lines and columns.
pub struct Reporter<'a> {
    file: &'a Path,
    text: &'a str,
    pub errors: Vec<ConfigError>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Reporter {
            file,
            text,
            errors: Vec::new(),
        }
    }

    /// The value when it is within `range`; otherwise an error at it that names the range.
    pub fn in_range<T>(
        &mut self,
        value: &toml::Spanned<T>,
        range: impl RangeBounds<T>,
        key: impl Into<String>,
    ) -> Option<T>
    where
        T: PartialOrd + Copy + fmt::Display,
    {
        if range.contains(value.get_ref()) {
            return Some(*value.get_ref());
        }
        let message = match (range.start_bound(), range.end_bound()) {
            (Bound::Included(low), Bound::Included(high)) => format!("must be between {low} and {high}"),
            (Bound::Included(low), Bound::Unbounded) => format!("must be at least {low}"),
            (Bound::Unbounded, Bound::Included(high)) => format!("must be at most {high}"),
            _ => "is out of range".to_owned(),
        };
        self.error(Some(value.span()), key, message);
        None
    }

    pub fn error(&mut self, span: Option<Range<usize>>, key: impl Into<String>, message: impl Into<String>) {
        let (line, column) = span
            .map(|span| line_and_column(self.text, span.start))
            .unwrap_or((0, 0));
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }
}

/// The text of the config file at `path`, or the error that says it cannot be read.
pub fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read: {error}"),
        }])
    })
}

/// Reads `text` as the raw table `R` and validates it with `check`, reporting every mistake
/// located in `file`: how a module's own table is read in its tests, the way the whole file is
/// read by the config.
pub fn read<R: serde::de::DeserializeOwned, T>(
    file: &Path,
    text: &str,
    check: impl FnOnce(R, &mut Reporter) -> T,
) -> Result<T, ConfigErrors> {
    let mut report = Reporter::new(file, text);
    let raw: R =
        match serde_path_to_error::deserialize(toml::de::Deserializer::parse(text).map_err(|error| {
            report.error(error.span(), "", error.message());
            ConfigErrors(report.errors.clone())
        })?) {
            Ok(raw) => raw,
            Err(error) => {
                let key = error.path().to_string();
                let inner = error.into_inner();
                report.error(
                    inner.span(),
                    if key == "." { String::new() } else { key },
                    inner.message(),
                );
                return Err(ConfigErrors(report.errors));
            }
        };
    let checked = check(raw, &mut report);
    if report.errors.is_empty() {
        Ok(checked)
    } else {
        Err(ConfigErrors(report.errors))
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 11), (2, 6));
        assert_eq!(line_and_column(text, 999), (3, 1));
    }

    #[test]
    fn a_value_outside_its_range_is_located_and_names_the_range() {
        let text = "timeout_ms = 0\n";
        let mut report = Reporter::new(Path::new("palisade.toml"), text);
        let inside = toml::Spanned::new(0..1, 5u64);
        assert_eq!(report.in_range(&inside, 1..=10, "a"), Some(5));
        let outside = toml::Spanned::new(13..14, 0u64);
        assert_eq!(
            report.in_range(&outside, 1..=600_000, "defaults.limits.timeout_ms"),
            None
        );
        let error = report.errors[0].to_string();
        assert_eq!(
            error,
            "palisade.toml:1:14: defaults.limits.timeout_ms: must be between 1 and 600000"
        );
    }
}
