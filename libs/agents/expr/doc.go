// Package expr compiles the pipeline expressions of a Weir app into Go closures.
//
// An hcl.Expression is compiled once, when an app is loaded, into a Program: a tree of
// closures over an Env (one record: value, key, headers, timestamp, partition, offset and
// the results of lookups). Evaluating a Program touches no cty values on the common
// paths: literals, traversals (value.a.b, value["k"], list[0]), arithmetic, comparisons,
// logical operators, conditionals, string templates, object and tuple constructors and
// the frequent functions (see nativeFuncs) work on plain Go values. Sub-expressions that
// refer only to var and local are folded into constants at compile time.
//
// Everything else falls back to HCL's own evaluator (hclsyntax and cty), and so does any
// operation whose operands are not the types its fast path expects (a string where a
// number is wanted, a null, a list where a string is wanted): the operands already
// computed are turned into cty values and the same hclsyntax node evaluates them. That
// keeps results and errors identical to evaluating the whole expression with cty; the
// differential test checks it over the examples, the language reference and a generated
// corpus.
//
// Values in an Env and in results are JSON-like Go values: nil, bool, float64, string,
// map[string]any (a cty object), []any (a cty tuple), List (a cty list, as returned by
// split) and, rarely, cty.Value for types with no Go counterpart (sets, maps from tomap,
// the headers map). Program.Eval returns plain values only (Export). Timestamps appear
// as RFC 3339 strings and bytes as strings.
//
// Numbers are float64. cty keeps number literals at 512 bits of precision, so a
// computation mixing a non-integral literal and a record field can differ from the
// compiled result in the last bit of a float64; integers and exact binary fractions
// agree exactly.
package expr
