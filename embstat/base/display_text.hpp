// Text from files and paths made safe to show: UTF-8 validity, escaping for one-line display,
// and the U+FFFD replacement JSON output uses. Everything embstat prints that came from a file or
// a path (error messages, notes, table and CSV cells, token text) passes through one of these,
// so a hostile file cannot move the cursor, clear the screen, set the terminal title or forge
// output lines.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace embstat {

// Length of the valid UTF-8 sequence at s[i] (Unicode 3.9, table 3-7: no overlong forms,
// surrogates or code points past U+10FFFF), or 0 if the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// Escapes bytes for one-line display, so that every token is visible and unambiguous:
//   \n \t \r \\           newline, tab, carriage return, backslash
//   \xNN               other control bytes (00-1F, 7F) and each byte that is not part of a
//                      valid UTF-8 sequence (partial, overlong, surrogate, > U+10FFFF)
//   \uNNNN / \uNNNNN   valid code points that would break, reorder or vanish from the line:
//                      C1 controls, U+00A0 and the other non-ASCII spaces, soft hyphen,
//                      zero-width and bidi format characters, U+2028/U+2029, U+FEFF, tags
// Everything else, the ASCII space included (" the" stays " the"), is kept as is.
std::string escape_display(std::string_view bytes);

// escape_display() wrapped in double quotes, with '"' itself escaped as \", so leading and
// trailing spaces stay visible in aligned text output: the token ` the` is shown as `" the"`,
// the token `say "hi"` as `"say \"hi\""`.
std::string escape_display_quoted(std::string_view bytes);

// The same escapes as escape_display() except that a backslash stays as it is: for whole
// messages and cells about to reach the terminal, which may hold text escaped already (a token
// shown as "a\nb" is not doubled). The result is one line of printable UTF-8; valid printable
// text (CJK, accents, emoji) is unchanged.
std::string escape_unprintable(std::string_view text);

// Replaces every invalid UTF-8 sequence with U+FFFD: one per maximal invalid subpart, the
// Unicode-recommended practice that Python's errors="replace" and Rust's from_utf8_lossy follow
// ("\xE6\x97" truncated -> one U+FFFD, a surrogate "\xED\xA0\x80" -> three).
std::string to_valid_utf8(std::string_view bytes);

}  // namespace embstat
