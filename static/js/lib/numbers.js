// A number a person typed, read in the screen's language: only the language's own decimal
// separator (German "12,03", English "12.03"), as the server reads a posted form
// (mes.forms.typed_decimal). What is posted stays what was typed; these only judge it on the
// screen before it is sent.
function decimalSeparator() {
  return typeof window.get_format === "function" ? window.get_format("DECIMAL_SEPARATOR") : ".";
}

// The typed text as a JavaScript number's text ("12,03" -> "12.03"), or null when it carries the
// other language's separator (refused by the server, never guessed).
export function machineNumber(raw) {
  const sep = decimalSeparator();
  const other = sep === "," ? "." : ",";
  const text = String(raw).trim().replace(/[٫،]/g, sep);
  if (text.indexOf(other) >= 0) return null;
  return sep === "." ? text : text.split(sep).join(".");
}

// The typed text as a number, NaN when it is none in this language.
export function typedNumber(raw) {
  const text = machineNumber(raw);
  return text === null || text === "" ? NaN : Number(text);
}
