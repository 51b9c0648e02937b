pub(crate) mod probe;
