//! A report section's table as data: its columns and its rows of cells, with what a cell needs
//! (its column's alignment, code, a state, emphasis, room to be shortened). Each section's
//! table is built once, in [`super::sections`]; the HTML and Markdown renderers each write any
//! table ([`super::html`], [`super::markdown`]), escaping every cell for their format.

/// How a column's cells sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Left, wrapping.
    Left,
    /// Left, on one line (times, names).
    NoWrap,
    /// Right, on one line (numbers).
    Right,
}

/// One column: its heading and how its cells sit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    /// The heading (empty for none).
    pub(crate) name: &'static str,
    /// How its cells sit.
    pub(crate) align: Align,
}

impl Column {
    /// A left-aligned column.
    pub(crate) const fn left(name: &'static str) -> Column {
        Column {
            name,
            align: Align::Left,
        }
    }

    /// A left-aligned column kept on one line.
    pub(crate) const fn nowrap(name: &'static str) -> Column {
        Column {
            name,
            align: Align::NoWrap,
        }
    }

    /// A right-aligned (numeric) column.
    pub(crate) const fn right(name: &'static str) -> Column {
        Column {
            name,
            align: Align::Right,
        }
    }
}

/// What a cell's text is, beyond plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Plain text.
    Plain,
    /// An identifier, a path or a message as received (HTML: `<code>`).
    Code,
    /// A state word (HTML: a coloured badge).
    State,
}

/// One cell: plain, unescaped text and how to show it.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    /// The text, unescaped.
    pub(crate) text: String,
    /// What the text is.
    pub(crate) mark: Mark,
    /// Shortened to the renderer's cell width (free text that may be long).
    pub(crate) long: bool,
    /// Set off in bold: Markdown wraps it in `**`; HTML shows it bold by its mark or its row.
    pub(crate) strong: bool,
}

impl Cell {
    /// A plain cell.
    pub(crate) fn new(text: impl ToString) -> Cell {
        Cell {
            text: text.to_string(),
            mark: Mark::Plain,
            long: false,
            strong: false,
        }
    }

    /// The cell as code.
    pub(crate) fn code(self) -> Cell {
        Cell {
            mark: Mark::Code,
            ..self
        }
    }

    /// The cell as a state word.
    pub(crate) fn state(self) -> Cell {
        Cell {
            mark: Mark::State,
            ..self
        }
    }

    /// The cell shortened to the renderer's width.
    pub(crate) fn long(self) -> Cell {
        Cell { long: true, ..self }
    }

    /// The cell in bold, when `strong`.
    pub(crate) fn strong(self, strong: bool) -> Cell {
        Cell { strong, ..self }
    }
}

/// One row of cells, one per column.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The cells.
    pub(crate) cells: Vec<Cell>,
    /// The totals row under the others.
    pub(crate) total: bool,
}

impl From<Vec<Cell>> for Row {
    fn from(cells: Vec<Cell>) -> Row {
        Row {
            cells,
            total: false,
        }
    }
}

/// One table of a section.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// The columns.
    pub(crate) columns: &'static [Column],
    /// The rows.
    pub(crate) rows: Vec<Row>,
    /// Each row's first cell names it (a list of keys and values): HTML writes it as a
    /// heading cell and no heading row.
    pub(crate) keyed: bool,
    /// Wide enough to scroll sideways on a narrow page (HTML).
    pub(crate) scroll: bool,
    /// A CSS class for the table (HTML).
    pub(crate) class: Option<&'static str>,
}

impl Table {
    /// A table of `columns` and `rows`, not scrolled, with no class.
    pub(crate) fn new(columns: &'static [Column], rows: Vec<Row>) -> Table {
        Table {
            columns,
            rows,
            keyed: false,
            scroll: false,
            class: None,
        }
    }

    /// The table scrolled sideways on a narrow page.
    pub(crate) fn scrolled(self) -> Table {
        Table {
            scroll: true,
            ..self
        }
    }
}
