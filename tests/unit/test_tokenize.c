/* test_tokenize.c: the BPE token counts against OpenAI's tokenizer (tiktoken's counts as vectors) */
/* SPDX-License-Identifier: MIT */
#include "test_common.h"

#include "core/tokenize.h"
#include "http/chat.h"
#include "http/estimate.h"

/*
 * The counts below were computed once by the npm package tiktoken 1.0.22
 * (OpenAI's Rust tokenizer in WASM), encode_ordinary with o200k_base and
 * cl100k_base; the splits by the patterns' JavaScript equivalent (the (?i:)
 * groups spelled out), all in tests/unit/tokenize_vectors.js.  The real
 * ranks come from scripts/tokenizers (make check fetches them into
 * $TOLLGATE_BUILDDIR/tokenizers); without them those tests skip.
 */
struct vec {
	const char *text;
	int o200k, cl100k;
};

static const struct vec vecs[] = {
    {"hello world", 2, 2},
    {"Hello, World!", 4, 4},
    {"The quick brown fox jumps over the lazy dog.", 10, 10},
    {"I'm sure they'll say it's fine; we've done THAT'S and DON'T before.", 15,
	20},
    {"HELLOworld helloWORLD CamelCaseIdentifier snake_case_name", 11, 12},
    {"1234567890 3.14159 2026-12-06 +49 (0)30 1234", 25, 25},
    {"    indented code\n\tif (x) {\n\t\treturn y;\n\t}\n\n\n", 16, 16},
    {"line one\r\nline two\r\n\r\n  trailing spaces   ", 10, 10},
    {"a  b   c    d\n \n  \nend", 10, 10},
    {"https://example.com/path/to/file.html?q=1&r=two#frag", 16, 16},
    {"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"hi\"}]}",
	21, 20},
    {"\xc3"
     "\x9c"
     "n\xc3"
     "\xaf"
     "c\xc3"
     "\xb6"
     "d\xc3"
     "\xa9"
     " fa\xc3"
     "\xa7"
     "ade na\xc3"
     "\xaf"
     "ve caf\xc3"
     "\xa9"
     " r\xc3"
     "\xa9"
     "sum\xc3"
     "\xa9"
     " Stra\xc3"
     "\x9f"
     "e",
	11, 17},
    {"\xd0"
     "\x9f"
     "\xd1"
     "\x80"
     "\xd0"
     "\xb8"
     "\xd0"
     "\xb2"
     "\xd0"
     "\xb5"
     "\xd1"
     "\x82"
     ", \xd0"
     "\xba"
     "\xd0"
     "\xb0"
     "\xd0"
     "\xba"
     " \xd0"
     "\xb4"
     "\xd0"
     "\xb5"
     "\xd0"
     "\xbb"
     "\xd0"
     "\xb0"
     "? \xd0"
     "\x92"
     "\xd1"
     "\x81"
     "\xd1"
     "\x91"
     " \xd1"
     "\x85"
     "\xd0"
     "\xbe"
     "\xd1"
     "\x80"
     "\xd0"
     "\xbe"
     "\xd1"
     "\x88"
     "\xd0"
     "\xbe"
     ".",
	9, 17},
    {"\xce"
     "\x93"
     "\xce"
     "\xb5"
     "\xce"
     "\xb9"
     "\xce"
     "\xac"
     " \xcf"
     "\x83"
     "\xce"
     "\xbf"
     "\xcf"
     "\x85"
     " \xce"
     "\x9a"
     "\xcf"
     "\x8c"
     "\xcf"
     "\x83"
     "\xce"
     "\xbc"
     "\xce"
     "\xb5"
     "",
	8, 13},
    {"\xe6"
     "\x97"
     "\xa5"
     "\xe6"
     "\x9c"
     "\xac"
     "\xe8"
     "\xaa"
     "\x9e"
     "\xe3"
     "\x81"
     "\xae"
     "\xe3"
     "\x83"
     "\x86"
     "\xe3"
     "\x82"
     "\xad"
     "\xe3"
     "\x82"
     "\xb9"
     "\xe3"
     "\x83"
     "\x88"
     "\xe3"
     "\x81"
     "\xa7"
     "\xe3"
     "\x81"
     "\x99"
     "\xe3"
     "\x80"
     "\x82"
     "\xe6"
     "\x9d"
     "\xb1"
     "\xe4"
     "\xba"
     "\xac"
     "\xe3"
     "\x81"
     "\xaf"
     "\xe5"
     "\xa4"
     "\xa7"
     "\xe3"
     "\x81"
     "\x8d"
     "\xe3"
     "\x81"
     "\x84"
     "\xe9"
     "\x83"
     "\xbd"
     "\xe5"
     "\xb8"
     "\x82"
     "\xe3"
     "\x81"
     "\xa7"
     "\xe3"
     "\x81"
     "\x99"
     "\xe3"
     "\x80"
     "\x82"
     "",
	16, 21},
    {"\xe4"
     "\xb8"
     "\xad"
     "\xe6"
     "\x96"
     "\x87"
     "\xe6"
     "\x96"
     "\x87"
     "\xe6"
     "\x9c"
     "\xac"
     "\xe6"
     "\xb5"
     "\x8b"
     "\xe8"
     "\xaf"
     "\x95"
     "\xef"
     "\xbc"
     "\x8c"
     "\xe5"
     "\x8c"
     "\x85"
     "\xe6"
     "\x8b"
     "\xac"
     "\xe6"
     "\xa0"
     "\x87"
     "\xe7"
     "\x82"
     "\xb9"
     "\xe7"
     "\xac"
     "\xa6"
     "\xe5"
     "\x8f"
     "\xb7"
     "\xef"
     "\xbc"
     "\x81"
     "",
	9, 14},
    {"\xed"
     "\x95"
     "\x9c"
     "\xea"
     "\xb5"
     "\xad"
     "\xec"
     "\x96"
     "\xb4"
     " \xeb"
     "\xac"
     "\xb8"
     "\xec"
     "\x9e"
     "\xa5"
     "\xec"
     "\x9e"
     "\x85"
     "\xeb"
     "\x8b"
     "\x88"
     "\xeb"
     "\x8b"
     "\xa4"
     ".",
	6, 8},
    {"emoji \xf0"
     "\x9f"
     "\x98"
     "\x80"
     "\xf0"
     "\x9f"
     "\x8e"
     "\x89"
     "\xf0"
     "\x9f"
     "\x91"
     "\x8d"
     "\xf0"
     "\x9f"
     "\x8f"
     "\xbd"
     " and symbols \xc2"
     "\xa9"
     "\xc2"
     "\xae"
     "\xe2"
     "\x84"
     "\xa2"
     " \xe2"
     "\x86"
     "\x92"
     " \xe2"
     "\x86"
     "\x90"
     " \xe2"
     "\x89"
     "\xa4"
     " \xe2"
     "\x89"
     "\xa5"
     " \xe2"
     "\x88"
     "\x9e"
     "",
	18, 22},
    {"mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10",
	22, 22},
    {"def f(a, b):\n    return a ** 2 + b // 3  # comment\n", 21, 21},
    {"!!!??? ... --- *** ///\n", 6, 6},
    {"x", 1, 1},
    {"", 0, 0},
    {" ", 1, 1},
    {"\n", 1, 1},
    {"\xd8"
     "\xa7"
     "\xd9"
     "\x84"
     "\xd8"
     "\xb9"
     "\xd8"
     "\xb1"
     "\xd8"
     "\xa8"
     "\xd9"
     "\x8a"
     "\xd8"
     "\xa9"
     " \xd9"
     "\x86"
     "\xd8"
     "\xb5"
     " \xd8"
     "\xaa"
     "\xd8"
     "\xac"
     "\xd8"
     "\xb1"
     "\xd9"
     "\x8a"
     "\xd8"
     "\xa8"
     "\xd9"
     "\x8a"
     "",
	6, 13},
    {"\xe0"
     "\xa4"
     "\x95"
     "\xe0"
     "\xa5"
     "\x8d"
     "\xe0"
     "\xa4"
     "\xaf"
     "\xe0"
     "\xa4"
     "\xbe"
     " \xe0"
     "\xa4"
     "\xb9"
     "\xe0"
     "\xa4"
     "\xbe"
     "\xe0"
     "\xa4"
     "\xb2"
     " \xe0"
     "\xa4"
     "\xb9"
     "\xe0"
     "\xa5"
     "\x88"
     "",
	3, 10},
    {"ok'S 'd 'LL 'Re he's", 9, 10},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaa",
	12, 12},
    {"The Project Gutenberg eBook of Pride and Prejudice. It is a truth "
     "universally acknowledged, that a single man in possession of a good "
     "fortune, must be in want of a wife.",
	37, 37},
    {"tell me a story", 4, 4},
    {"be terse", 2, 2},
    {"user", 1, 1},
    {"system", 1, 1},
    {"assistant", 1, 1},
};

struct split {
	const char *text, *o200k, *cl100k; /* pieces joined by | */
};

static const struct split splits[] = {
    {"hello world", "hello| world", "hello| world"},
    {"Hello, World!", "Hello|,| World|!", "Hello|,| World|!"},
    {"The quick brown fox jumps over the lazy dog.",
	"The| quick| brown| fox| jumps| over| the| lazy| dog|.",
	"The| quick| brown| fox| jumps| over| the| lazy| dog|."},
    {"I'm sure they'll say it's fine; we've done THAT'S and DON'T before.",
	"I'm| sure| they'll| say| it's| fine|;| we've| done| THAT'S| and| "
	"DON'T| before|.",
	"I|'m| sure| they|'ll| say| it|'s| fine|;| we|'ve| done| THAT|'S| and| "
	"DON|'T| before|."},
    {"HELLOworld helloWORLD CamelCaseIdentifier snake_case_name",
	"HELLOworld| hello|WORLD| Camel|Case|Identifier| snake|_case|_name",
	"HELLOworld| helloWORLD| CamelCaseIdentifier| snake|_case|_name"},
    {"1234567890 3.14159 2026-12-06 +49 (0)30 1234",
	"123|456|789|0| |3|.|141|59| |202|6|-|12|-|06| +|49| (|0|)|30| |123|4",
	"123|456|789|0| |3|.|141|59| |202|6|-|12|-|06| +|49| (|0|)|30| |123|4"},
    {"    indented code\n\tif (x) {\n\t\treturn y;\n\t}\n\n\n",
	"   | indented| code|\n|\tif| (|x|)| {\n|\t|\treturn| y|;\n|\t|}\n\n\n",
	"   | indented| code|\n|\tif| (|x|)| {\n|\t|\treturn| "
	"y|;\n|\t|}\n\n\n"},
    {"line one\r\nline two\r\n\r\n  trailing spaces   ",
	"line| one|\r\n|line| two|\r\n\r\n| | trailing| spaces|   ",
	"line| one|\r\n|line| two|\r\n\r\n| | trailing| spaces|   "},
    {"a  b   c    d\n \n  \nend", "a| | b|  | c|   | d|\n \n  \n|end",
	"a| | b|  | c|   | d|\n \n  \n|end"},
    {"https://example.com/path/to/file.html?q=1&r=two#frag",
	"https|://|example|.com|/path|/to|/file|.html|?q|=|1|&r|=two|#frag",
	"https|://|example|.com|/path|/to|/file|.html|?q|=|1|&r|=two|#frag"},
    {"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"hi\"}]}",
	"{\"|model|\":\"|gpt|-|4|o|\",\"|messages|\":[{\"|role|\":\"|user|\","
	"\"|content|\":\"|hi|\"}]}",
	"{\"|model|\":\"|gpt|-|4|o|\",\"|messages|\":[{\"|role|\":\"|user|\","
	"\"|content|\":\"|hi|\"}]}"},
    {"\xc3"
     "\x9c"
     "n\xc3"
     "\xaf"
     "c\xc3"
     "\xb6"
     "d\xc3"
     "\xa9"
     " fa\xc3"
     "\xa7"
     "ade na\xc3"
     "\xaf"
     "ve caf\xc3"
     "\xa9"
     " r\xc3"
     "\xa9"
     "sum\xc3"
     "\xa9"
     " Stra\xc3"
     "\x9f"
     "e",
	"\xc3"
	"\x9c"
	"n\xc3"
	"\xaf"
	"c\xc3"
	"\xb6"
	"d\xc3"
	"\xa9"
	"| fa\xc3"
	"\xa7"
	"ade| na\xc3"
	"\xaf"
	"ve| caf\xc3"
	"\xa9"
	"| r\xc3"
	"\xa9"
	"sum\xc3"
	"\xa9"
	"| Stra\xc3"
	"\x9f"
	"e",
	"\xc3"
	"\x9c"
	"n\xc3"
	"\xaf"
	"c\xc3"
	"\xb6"
	"d\xc3"
	"\xa9"
	"| fa\xc3"
	"\xa7"
	"ade| na\xc3"
	"\xaf"
	"ve| caf\xc3"
	"\xa9"
	"| r\xc3"
	"\xa9"
	"sum\xc3"
	"\xa9"
	"| Stra\xc3"
	"\x9f"
	"e"},
    {"\xd0"
     "\x9f"
     "\xd1"
     "\x80"
     "\xd0"
     "\xb8"
     "\xd0"
     "\xb2"
     "\xd0"
     "\xb5"
     "\xd1"
     "\x82"
     ", \xd0"
     "\xba"
     "\xd0"
     "\xb0"
     "\xd0"
     "\xba"
     " \xd0"
     "\xb4"
     "\xd0"
     "\xb5"
     "\xd0"
     "\xbb"
     "\xd0"
     "\xb0"
     "? \xd0"
     "\x92"
     "\xd1"
     "\x81"
     "\xd1"
     "\x91"
     " \xd1"
     "\x85"
     "\xd0"
     "\xbe"
     "\xd1"
     "\x80"
     "\xd0"
     "\xbe"
     "\xd1"
     "\x88"
     "\xd0"
     "\xbe"
     ".",
	"\xd0"
	"\x9f"
	"\xd1"
	"\x80"
	"\xd0"
	"\xb8"
	"\xd0"
	"\xb2"
	"\xd0"
	"\xb5"
	"\xd1"
	"\x82"
	"|,| \xd0"
	"\xba"
	"\xd0"
	"\xb0"
	"\xd0"
	"\xba"
	"| \xd0"
	"\xb4"
	"\xd0"
	"\xb5"
	"\xd0"
	"\xbb"
	"\xd0"
	"\xb0"
	"|?| \xd0"
	"\x92"
	"\xd1"
	"\x81"
	"\xd1"
	"\x91"
	"| \xd1"
	"\x85"
	"\xd0"
	"\xbe"
	"\xd1"
	"\x80"
	"\xd0"
	"\xbe"
	"\xd1"
	"\x88"
	"\xd0"
	"\xbe"
	"|.",
	"\xd0"
	"\x9f"
	"\xd1"
	"\x80"
	"\xd0"
	"\xb8"
	"\xd0"
	"\xb2"
	"\xd0"
	"\xb5"
	"\xd1"
	"\x82"
	"|,| \xd0"
	"\xba"
	"\xd0"
	"\xb0"
	"\xd0"
	"\xba"
	"| \xd0"
	"\xb4"
	"\xd0"
	"\xb5"
	"\xd0"
	"\xbb"
	"\xd0"
	"\xb0"
	"|?| \xd0"
	"\x92"
	"\xd1"
	"\x81"
	"\xd1"
	"\x91"
	"| \xd1"
	"\x85"
	"\xd0"
	"\xbe"
	"\xd1"
	"\x80"
	"\xd0"
	"\xbe"
	"\xd1"
	"\x88"
	"\xd0"
	"\xbe"
	"|."},
    {"\xce"
     "\x93"
     "\xce"
     "\xb5"
     "\xce"
     "\xb9"
     "\xce"
     "\xac"
     " \xcf"
     "\x83"
     "\xce"
     "\xbf"
     "\xcf"
     "\x85"
     " \xce"
     "\x9a"
     "\xcf"
     "\x8c"
     "\xcf"
     "\x83"
     "\xce"
     "\xbc"
     "\xce"
     "\xb5"
     "",
	"\xce"
	"\x93"
	"\xce"
	"\xb5"
	"\xce"
	"\xb9"
	"\xce"
	"\xac"
	"| \xcf"
	"\x83"
	"\xce"
	"\xbf"
	"\xcf"
	"\x85"
	"| \xce"
	"\x9a"
	"\xcf"
	"\x8c"
	"\xcf"
	"\x83"
	"\xce"
	"\xbc"
	"\xce"
	"\xb5"
	"",
	"\xce"
	"\x93"
	"\xce"
	"\xb5"
	"\xce"
	"\xb9"
	"\xce"
	"\xac"
	"| \xcf"
	"\x83"
	"\xce"
	"\xbf"
	"\xcf"
	"\x85"
	"| \xce"
	"\x9a"
	"\xcf"
	"\x8c"
	"\xcf"
	"\x83"
	"\xce"
	"\xbc"
	"\xce"
	"\xb5"
	""},
    {"\xe6"
     "\x97"
     "\xa5"
     "\xe6"
     "\x9c"
     "\xac"
     "\xe8"
     "\xaa"
     "\x9e"
     "\xe3"
     "\x81"
     "\xae"
     "\xe3"
     "\x83"
     "\x86"
     "\xe3"
     "\x82"
     "\xad"
     "\xe3"
     "\x82"
     "\xb9"
     "\xe3"
     "\x83"
     "\x88"
     "\xe3"
     "\x81"
     "\xa7"
     "\xe3"
     "\x81"
     "\x99"
     "\xe3"
     "\x80"
     "\x82"
     "\xe6"
     "\x9d"
     "\xb1"
     "\xe4"
     "\xba"
     "\xac"
     "\xe3"
     "\x81"
     "\xaf"
     "\xe5"
     "\xa4"
     "\xa7"
     "\xe3"
     "\x81"
     "\x8d"
     "\xe3"
     "\x81"
     "\x84"
     "\xe9"
     "\x83"
     "\xbd"
     "\xe5"
     "\xb8"
     "\x82"
     "\xe3"
     "\x81"
     "\xa7"
     "\xe3"
     "\x81"
     "\x99"
     "\xe3"
     "\x80"
     "\x82"
     "",
	"\xe6"
	"\x97"
	"\xa5"
	"\xe6"
	"\x9c"
	"\xac"
	"\xe8"
	"\xaa"
	"\x9e"
	"\xe3"
	"\x81"
	"\xae"
	"\xe3"
	"\x83"
	"\x86"
	"\xe3"
	"\x82"
	"\xad"
	"\xe3"
	"\x82"
	"\xb9"
	"\xe3"
	"\x83"
	"\x88"
	"\xe3"
	"\x81"
	"\xa7"
	"\xe3"
	"\x81"
	"\x99"
	"|\xe3"
	"\x80"
	"\x82"
	"\xe6"
	"\x9d"
	"\xb1"
	"\xe4"
	"\xba"
	"\xac"
	"\xe3"
	"\x81"
	"\xaf"
	"\xe5"
	"\xa4"
	"\xa7"
	"\xe3"
	"\x81"
	"\x8d"
	"\xe3"
	"\x81"
	"\x84"
	"\xe9"
	"\x83"
	"\xbd"
	"\xe5"
	"\xb8"
	"\x82"
	"\xe3"
	"\x81"
	"\xa7"
	"\xe3"
	"\x81"
	"\x99"
	"|\xe3"
	"\x80"
	"\x82"
	"",
	"\xe6"
	"\x97"
	"\xa5"
	"\xe6"
	"\x9c"
	"\xac"
	"\xe8"
	"\xaa"
	"\x9e"
	"\xe3"
	"\x81"
	"\xae"
	"\xe3"
	"\x83"
	"\x86"
	"\xe3"
	"\x82"
	"\xad"
	"\xe3"
	"\x82"
	"\xb9"
	"\xe3"
	"\x83"
	"\x88"
	"\xe3"
	"\x81"
	"\xa7"
	"\xe3"
	"\x81"
	"\x99"
	"|\xe3"
	"\x80"
	"\x82"
	"\xe6"
	"\x9d"
	"\xb1"
	"\xe4"
	"\xba"
	"\xac"
	"\xe3"
	"\x81"
	"\xaf"
	"\xe5"
	"\xa4"
	"\xa7"
	"\xe3"
	"\x81"
	"\x8d"
	"\xe3"
	"\x81"
	"\x84"
	"\xe9"
	"\x83"
	"\xbd"
	"\xe5"
	"\xb8"
	"\x82"
	"\xe3"
	"\x81"
	"\xa7"
	"\xe3"
	"\x81"
	"\x99"
	"|\xe3"
	"\x80"
	"\x82"
	""},
    {"\xe4"
     "\xb8"
     "\xad"
     "\xe6"
     "\x96"
     "\x87"
     "\xe6"
     "\x96"
     "\x87"
     "\xe6"
     "\x9c"
     "\xac"
     "\xe6"
     "\xb5"
     "\x8b"
     "\xe8"
     "\xaf"
     "\x95"
     "\xef"
     "\xbc"
     "\x8c"
     "\xe5"
     "\x8c"
     "\x85"
     "\xe6"
     "\x8b"
     "\xac"
     "\xe6"
     "\xa0"
     "\x87"
     "\xe7"
     "\x82"
     "\xb9"
     "\xe7"
     "\xac"
     "\xa6"
     "\xe5"
     "\x8f"
     "\xb7"
     "\xef"
     "\xbc"
     "\x81"
     "",
	"\xe4"
	"\xb8"
	"\xad"
	"\xe6"
	"\x96"
	"\x87"
	"\xe6"
	"\x96"
	"\x87"
	"\xe6"
	"\x9c"
	"\xac"
	"\xe6"
	"\xb5"
	"\x8b"
	"\xe8"
	"\xaf"
	"\x95"
	"|\xef"
	"\xbc"
	"\x8c"
	"\xe5"
	"\x8c"
	"\x85"
	"\xe6"
	"\x8b"
	"\xac"
	"\xe6"
	"\xa0"
	"\x87"
	"\xe7"
	"\x82"
	"\xb9"
	"\xe7"
	"\xac"
	"\xa6"
	"\xe5"
	"\x8f"
	"\xb7"
	"|\xef"
	"\xbc"
	"\x81"
	"",
	"\xe4"
	"\xb8"
	"\xad"
	"\xe6"
	"\x96"
	"\x87"
	"\xe6"
	"\x96"
	"\x87"
	"\xe6"
	"\x9c"
	"\xac"
	"\xe6"
	"\xb5"
	"\x8b"
	"\xe8"
	"\xaf"
	"\x95"
	"|\xef"
	"\xbc"
	"\x8c"
	"\xe5"
	"\x8c"
	"\x85"
	"\xe6"
	"\x8b"
	"\xac"
	"\xe6"
	"\xa0"
	"\x87"
	"\xe7"
	"\x82"
	"\xb9"
	"\xe7"
	"\xac"
	"\xa6"
	"\xe5"
	"\x8f"
	"\xb7"
	"|\xef"
	"\xbc"
	"\x81"
	""},
    {"\xed"
     "\x95"
     "\x9c"
     "\xea"
     "\xb5"
     "\xad"
     "\xec"
     "\x96"
     "\xb4"
     " \xeb"
     "\xac"
     "\xb8"
     "\xec"
     "\x9e"
     "\xa5"
     "\xec"
     "\x9e"
     "\x85"
     "\xeb"
     "\x8b"
     "\x88"
     "\xeb"
     "\x8b"
     "\xa4"
     ".",
	"\xed"
	"\x95"
	"\x9c"
	"\xea"
	"\xb5"
	"\xad"
	"\xec"
	"\x96"
	"\xb4"
	"| \xeb"
	"\xac"
	"\xb8"
	"\xec"
	"\x9e"
	"\xa5"
	"\xec"
	"\x9e"
	"\x85"
	"\xeb"
	"\x8b"
	"\x88"
	"\xeb"
	"\x8b"
	"\xa4"
	"|.",
	"\xed"
	"\x95"
	"\x9c"
	"\xea"
	"\xb5"
	"\xad"
	"\xec"
	"\x96"
	"\xb4"
	"| \xeb"
	"\xac"
	"\xb8"
	"\xec"
	"\x9e"
	"\xa5"
	"\xec"
	"\x9e"
	"\x85"
	"\xeb"
	"\x8b"
	"\x88"
	"\xeb"
	"\x8b"
	"\xa4"
	"|."},
    {"emoji \xf0"
     "\x9f"
     "\x98"
     "\x80"
     "\xf0"
     "\x9f"
     "\x8e"
     "\x89"
     "\xf0"
     "\x9f"
     "\x91"
     "\x8d"
     "\xf0"
     "\x9f"
     "\x8f"
     "\xbd"
     " and symbols \xc2"
     "\xa9"
     "\xc2"
     "\xae"
     "\xe2"
     "\x84"
     "\xa2"
     " \xe2"
     "\x86"
     "\x92"
     " \xe2"
     "\x86"
     "\x90"
     " \xe2"
     "\x89"
     "\xa4"
     " \xe2"
     "\x89"
     "\xa5"
     " \xe2"
     "\x88"
     "\x9e"
     "",
	"emoji| \xf0"
	"\x9f"
	"\x98"
	"\x80"
	"\xf0"
	"\x9f"
	"\x8e"
	"\x89"
	"\xf0"
	"\x9f"
	"\x91"
	"\x8d"
	"\xf0"
	"\x9f"
	"\x8f"
	"\xbd"
	"| and| symbols| \xc2"
	"\xa9"
	"\xc2"
	"\xae"
	"\xe2"
	"\x84"
	"\xa2"
	"| \xe2"
	"\x86"
	"\x92"
	"| \xe2"
	"\x86"
	"\x90"
	"| \xe2"
	"\x89"
	"\xa4"
	"| \xe2"
	"\x89"
	"\xa5"
	"| \xe2"
	"\x88"
	"\x9e"
	"",
	"emoji| \xf0"
	"\x9f"
	"\x98"
	"\x80"
	"\xf0"
	"\x9f"
	"\x8e"
	"\x89"
	"\xf0"
	"\x9f"
	"\x91"
	"\x8d"
	"\xf0"
	"\x9f"
	"\x8f"
	"\xbd"
	"| and| symbols| \xc2"
	"\xa9"
	"\xc2"
	"\xae"
	"\xe2"
	"\x84"
	"\xa2"
	"| \xe2"
	"\x86"
	"\x92"
	"| \xe2"
	"\x86"
	"\x90"
	"| \xe2"
	"\x89"
	"\xa4"
	"| \xe2"
	"\x89"
	"\xa5"
	"| \xe2"
	"\x88"
	"\x9e"
	""},
    {"mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10",
	"mock| reply| word|1| word|2| word|3| word|4| word|5| word|6| word|7| "
	"word|8| word|9| word|10",
	"mock| reply| word|1| word|2| word|3| word|4| word|5| word|6| word|7| "
	"word|8| word|9| word|10"},
    {"def f(a, b):\n    return a ** 2 + b // 3  # comment\n",
	"def| f|(a|,| b|):\n|   | return| a| **| |2| +| b| //| |3| | #| "
	"comment|\n",
	"def| f|(a|,| b|):\n|   | return| a| **| |2| +| b| //| |3| | #| "
	"comment|\n"},
    {"!!!??? ... --- *** ///\n", "!!!???| ...| ---| ***| ///\n",
	"!!!???| ...| ---| ***| ///\n"},
    {"x", "x", "x"},
    {"", "", ""},
    {" ", " ", " "},
    {"\n", "\n", "\n"},
    {"\xd8"
     "\xa7"
     "\xd9"
     "\x84"
     "\xd8"
     "\xb9"
     "\xd8"
     "\xb1"
     "\xd8"
     "\xa8"
     "\xd9"
     "\x8a"
     "\xd8"
     "\xa9"
     " \xd9"
     "\x86"
     "\xd8"
     "\xb5"
     " \xd8"
     "\xaa"
     "\xd8"
     "\xac"
     "\xd8"
     "\xb1"
     "\xd9"
     "\x8a"
     "\xd8"
     "\xa8"
     "\xd9"
     "\x8a"
     "",
	"\xd8"
	"\xa7"
	"\xd9"
	"\x84"
	"\xd8"
	"\xb9"
	"\xd8"
	"\xb1"
	"\xd8"
	"\xa8"
	"\xd9"
	"\x8a"
	"\xd8"
	"\xa9"
	"| \xd9"
	"\x86"
	"\xd8"
	"\xb5"
	"| \xd8"
	"\xaa"
	"\xd8"
	"\xac"
	"\xd8"
	"\xb1"
	"\xd9"
	"\x8a"
	"\xd8"
	"\xa8"
	"\xd9"
	"\x8a"
	"",
	"\xd8"
	"\xa7"
	"\xd9"
	"\x84"
	"\xd8"
	"\xb9"
	"\xd8"
	"\xb1"
	"\xd8"
	"\xa8"
	"\xd9"
	"\x8a"
	"\xd8"
	"\xa9"
	"| \xd9"
	"\x86"
	"\xd8"
	"\xb5"
	"| \xd8"
	"\xaa"
	"\xd8"
	"\xac"
	"\xd8"
	"\xb1"
	"\xd9"
	"\x8a"
	"\xd8"
	"\xa8"
	"\xd9"
	"\x8a"
	""},
    {"\xe0"
     "\xa4"
     "\x95"
     "\xe0"
     "\xa5"
     "\x8d"
     "\xe0"
     "\xa4"
     "\xaf"
     "\xe0"
     "\xa4"
     "\xbe"
     " \xe0"
     "\xa4"
     "\xb9"
     "\xe0"
     "\xa4"
     "\xbe"
     "\xe0"
     "\xa4"
     "\xb2"
     " \xe0"
     "\xa4"
     "\xb9"
     "\xe0"
     "\xa5"
     "\x88"
     "",
	"\xe0"
	"\xa4"
	"\x95"
	"\xe0"
	"\xa5"
	"\x8d"
	"\xe0"
	"\xa4"
	"\xaf"
	"\xe0"
	"\xa4"
	"\xbe"
	"| \xe0"
	"\xa4"
	"\xb9"
	"\xe0"
	"\xa4"
	"\xbe"
	"\xe0"
	"\xa4"
	"\xb2"
	"| \xe0"
	"\xa4"
	"\xb9"
	"\xe0"
	"\xa5"
	"\x88"
	"",
	"\xe0"
	"\xa4"
	"\x95"
	"|\xe0"
	"\xa5"
	"\x8d"
	"\xe0"
	"\xa4"
	"\xaf"
	"|\xe0"
	"\xa4"
	"\xbe"
	"| \xe0"
	"\xa4"
	"\xb9"
	"|\xe0"
	"\xa4"
	"\xbe"
	"\xe0"
	"\xa4"
	"\xb2"
	"| \xe0"
	"\xa4"
	"\xb9"
	"|\xe0"
	"\xa5"
	"\x88"
	""},
    {"ok'S 'd 'LL 'Re he's", "ok'S| '|d| '|LL| '|Re| he's",
	"ok|'S| '|d| '|LL| '|Re| he|'s"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaa",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaa",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaa"},
    {"The Project Gutenberg eBook of Pride and Prejudice. It is a truth "
     "universally acknowledged, that a single man in possession of a good "
     "fortune, must be in want of a wife.",
	"The| Project| Gutenberg| e|Book| of| Pride| and| Prejudice|.| It| is| "
	"a| truth| universally| acknowledged|,| that| a| single| man| in| "
	"possession| of| a| good| fortune|,| must| be| in| want| of| a| wife|.",
	"The| Project| Gutenberg| eBook| of| Pride| and| Prejudice|.| It| is| "
	"a| truth| universally| acknowledged|,| that| a| single| man| in| "
	"possession| of| a| good| fortune|,| must| be| in| want| of| a| "
	"wife|."},
    {"tell me a story", "tell| me| a| story", "tell| me| a| story"},
    {"be terse", "be| terse", "be| terse"},
    {"user", "user", "user"},
    {"system", "system", "system"},
    {"assistant", "assistant", "assistant"},
};

#define NVECS	(sizeof(vecs) / sizeof(vecs[0]))
#define NSPLITS (sizeof(splits) / sizeof(splits[0]))

/* The pieces of text by enc's pattern, joined by | into out. */
static void
split_of(enum tok_enc enc, const char *text, char *out, size_t outlen)
{
	size_t len = strlen(text), pos = 0, end, o = 0;

	out[0] = '\0';
	while (pos < len) {
		end = pretok_next(enc, text, len, pos);
		assert_true(end > pos && end <= len);
		if (o > 0 && o + 1 < outlen)
			out[o++] = '|';
		while (pos < end && o + 1 < outlen)
			out[o++] = text[pos++];
		out[o] = '\0';
		pos = end;
	}
}

static void
t_splits(void **state)
{
	char got[1024];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NSPLITS; i++) {
		split_of(TOK_O200K, splits[i].text, got, sizeof(got));
		if (strcmp(got, splits[i].o200k) != 0) {
			print_message(
			    "o200k split of \"%s\":\n  got  %s\n  want %s\n",
			    splits[i].text, got, splits[i].o200k);
			bad++;
		}
		split_of(TOK_CL100K, splits[i].text, got, sizeof(got));
		if (strcmp(got, splits[i].cl100k) != 0) {
			print_message(
			    "cl100k split of \"%s\":\n  got  %s\n  want %s\n",
			    splits[i].text, got, splits[i].cl100k);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* --- a small ranks file: the merges by hand ------------------------------------------- */

static void
b64(const unsigned char *p, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)p[i] << 16 |
		    (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Every byte, then extra tokens with ranks 256, 257, ... into a temp file. */
static struct tok_ranks *
small_ranks(const char *const *extra, char *path, size_t pathlen)
{
	static char text[16384];
	char e[200], err[256];
	unsigned char byte;
	size_t o = 0, i;
	struct tok_ranks *t;

	for (i = 0; i < 256; i++) {
		byte = (unsigned char)i;
		b64(&byte, 1, e);
		o += (size_t)snprintf(
		    text + o, sizeof(text) - o, "%s %zu\n", e, i);
	}
	for (i = 0; extra[i] != NULL; i++) {
		b64((const unsigned char *)extra[i], strlen(extra[i]), e);
		o += (size_t)snprintf(
		    text + o, sizeof(text) - o, "%s %zu\n", e, 256 + i);
	}
	test_tmpfile(path, pathlen, text, 0600);
	t = tok_load(path, TOK_CL100K, err, sizeof(err));
	if (t == NULL)
		fail_msg("tok_load: %s", err);
	return t;
}

static void
t_merges(void **state)
{
	/* ab first (the lowest rank), then abc: "abcd" is abc + d. */
	static const char *const extra[] = {
	    "ab", "bc", "abc", "cd", "xyzw", "xy", "zw", NULL};
	char path[256];
	struct tok_ranks *t = small_ranks(extra, path, sizeof(path));

	(void)state;
	assert_int_equal(tok_count(t, "", 0), 0);
	assert_int_equal(tok_count(t, "a", 1), 1);
	assert_int_equal(tok_count(t, "abcd", 4), 2); /* abc d */
	assert_int_equal(tok_count(t, "bcd", 3), 2);  /* bc d */
	assert_int_equal(tok_count(t, "xyzw", 4), 1); /* a whole token */
	assert_int_equal(
	    tok_count(t, "xyzwq", 5), 2);	      /* xy, zw, then xyzw; q */
	assert_int_equal(tok_count(t, "dcba", 4), 4); /* no pair is a token */
	/* Two pieces ("ab" and " cd"): merges never cross them. */
	assert_int_equal(tok_count(t, "ab cd", 5), 3);
	tok_free(t);
	unlink(path);
}

static void
t_bad_files(void **state)
{
	static const char *const bad[] = {
	    "",
	    "IQ==\n",
	    "IQ== x\n",
	    "!!!! 1\n",
	    "IQ== -1\n",
	    "IQ== 1 2\n",
	};
	char path[256], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_tmpfile(path, sizeof(path), bad[i], 0600);
		err[0] = '\0';
		assert_null(tok_load(path, TOK_O200K, err, sizeof(err)));
		assert_non_null(strstr(err, path));
		unlink(path);
	}
	/* Fewer than the 256 single bytes: not a real file. */
	test_tmpfile(path, sizeof(path), "IQ== 0\nIg== 1\n", 0600);
	assert_null(tok_load(path, TOK_O200K, err, sizeof(err)));
	unlink(path);
	assert_null(tok_load(
	    "/nonexistent/o200k_base.tiktoken", TOK_O200K, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

static void
t_duplicate_token(void **state)
{
	static const char *const extra[] = {"ab", "ab", NULL};
	char path[256], err[256];

	(void)state;
	/* small_ranks fails the test on a load error: the file is built here. */
	{
		char text[16384], e[16];
		unsigned char byte;
		size_t o = 0, i;

		for (i = 0; i < 256; i++) {
			byte = (unsigned char)i;
			b64(&byte, 1, e);
			o += (size_t)snprintf(
			    text + o, sizeof(text) - o, "%s %zu\n", e, i);
		}
		for (i = 0; extra[i] != NULL; i++) {
			b64((const unsigned char *)extra[i], 2, e);
			o += (size_t)snprintf(
			    text + o, sizeof(text) - o, "%s %zu\n", e, 256 + i);
		}
		test_tmpfile(path, sizeof(path), text, 0600);
	}
	assert_null(tok_load(path, TOK_CL100K, err, sizeof(err)));
	assert_non_null(strstr(err, "line 258"));
	unlink(path);
}

static void
t_models(void **state)
{
	static const struct {
		const char *model;
		enum tok_enc enc;
	} m[] = {
	    {"gpt-4o", TOK_O200K},
	    {"gpt-4o-mini-2024-07-18", TOK_O200K},
	    {"openai/gpt-4o", TOK_O200K},
	    {"gpt-4.1-nano", TOK_O200K},
	    {"o1-preview", TOK_O200K},
	    {"o3-mini", TOK_O200K},
	    {"o4-mini", TOK_O200K},
	    {"gpt-5", TOK_O200K},
	    {"gpt-4", TOK_CL100K},
	    {"gpt-4-turbo", TOK_CL100K},
	    {"gpt-3.5-turbo", TOK_CL100K},
	    {"text-embedding-3-small", TOK_CL100K},
	    {"claude-3-5-sonnet", TOK_CL100K},
	    {"mock-cheap", TOK_CL100K},
	    {NULL, TOK_CL100K},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (tok_enc_of(m[i].model) != m[i].enc)
			fail_msg("%s: want %s",
			    m[i].model ? m[i].model : "NULL",
			    tok_enc_name(m[i].enc));
}

/* --- OpenAI's ranks ------------------------------------------------------------------- */

static int
real_setup(void **state)
{
	const char *dir = getenv("TOLLGATE_TOKENIZER_DIR"), *b;
	static char buf[4096];
	char err[512];

	if (dir == NULL) {
		b = getenv("TOLLGATE_BUILDDIR");
		snprintf(buf, sizeof(buf), "%s/tokenizers", b ? b : ".");
		dir = buf;
	}
	*state = NULL;
	if (tok_init(dir, err, sizeof(err)) == TOK__MAX)
		*state = (void *)dir;
	else
		print_message(
		    "no ranks (%s): run scripts/tokenizers %s\n", err, dir);
	return 0;
}

static int
real_teardown(void **state)
{
	(void)state;
	tok_fini();
	return 0;
}

#define NEED_RANKS()                                                           \
	do {                                                                   \
		if (*state == NULL)                                            \
			skip();                                                \
	} while (0)

static void
t_vectors(void **state)
{
	const struct tok_ranks *o, *c;
	int64_t no, nc;
	size_t i;
	int bad = 0;

	NEED_RANKS();
	o = tok_get(TOK_O200K);
	c = tok_get(TOK_CL100K);
	for (i = 0; i < NVECS; i++) {
		no = tok_count(o, vecs[i].text, strlen(vecs[i].text));
		nc = tok_count(c, vecs[i].text, strlen(vecs[i].text));
		if (no != vecs[i].o200k || nc != vecs[i].cl100k) {
			print_message(
			    "\"%s\": o200k %lld (want %d), cl100k %lld "
			    "(want %d)\n",
			    vecs[i].text, (long long)no, vecs[i].o200k,
			    (long long)nc, vecs[i].cl100k);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* A text past TOK_TEXT_MAX: its head counted, the rest scaled. */
static void
t_long_text(void **state)
{
	static const char unit[] =
	    "The quick brown fox jumps over the lazy dog. ";
	size_t n = strlen(unit), reps = (3 * TOK_TEXT_MAX) / n, i;
	char *s = malloc(reps * n + 1);
	int64_t got, want = (int64_t)reps * 10;

	NEED_RANKS();
	assert_non_null(s);
	for (i = 0; i < reps; i++)
		memcpy(s + i * n, unit, n);
	s[reps * n] = '\0';
	got = tok_count(tok_get(TOK_O200K), s, reps * n);
	/* Each repeat is 10 tokens (the last space joins the next "The"). */
	if (got < want - want / 100 || got > want + want / 100)
		fail_msg("%zu repeats: %lld tokens, want %lld within 1 %%",
		    reps, (long long)got, (long long)want);
	free(s);
}

/* One piece longer than TOK_PIECE_MAX is merged in slices: at most a token per slice off. */
static void
t_long_piece(void **state)
{
	char s[1001];
	int64_t got;

	NEED_RANKS();
	memset(s, 'a', 1000);
	s[1000] = '\0';
	got = tok_count(tok_get(TOK_O200K), s, 1000);
	/* tiktoken: 1000 a's are 125 tokens in o200k_base (8 a's a token). */
	if (got < 125 || got > 125 + 1000 / TOK_PIECE_MAX + 1)
		fail_msg("1000 a's: %lld tokens, want 125..%d", (long long)got,
		    125 + 1000 / TOK_PIECE_MAX + 1);
}

/* --- estimate.c: the request's prompt and the answer's text ------------------------------ */

/* estimate_prompt of body for model, and estimate_answer of answer. */
static void
estimates(const char *model, enum endpoint ep, const char *body,
    const char *answer, int64_t *prompt, int64_t *completion)
{
	struct tg_req r;
	struct call x;
	json_t *a = answer ? json_loads(answer, 0, NULL) : NULL;

	memset(&r, 0, sizeof(r));
	memset(&x, 0, sizeof(x));
	r.arena = arena_new(4096);
	r.json = json_loads(body, 0, NULL);
	assert_non_null(r.json);
	x.r = &r;
	x.model = model;
	x.ep = ep;
	x.prompt_estimate = -7; /* the bytes' estimate: never this here */
	*prompt = estimate_prompt(&x);
	*completion = -1;
	if (a != NULL) {
		estimate_answer(&x, a);
		*completion = estimate_completion(&x);
	}
	json_decref(a);
	json_decref(r.json);
	arena_free(r.arena);
}

static void
t_estimates(void **state)
{
	int64_t p, c;

	NEED_RANKS();
	/* 3 + "system" 1 + "be terse" 2, 3 + 1 + "hello world" 2, 3 for the reply */
	estimates("gpt-4o", EP_CHAT,
	    "{\"messages\":[{\"role\":\"system\",\"content\":\"be terse\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"hello world\"}]}]}",
	    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
	    "\"mock reply word1 word2 word3 word4 word5 word6 word7 word8 "
	    "word9 "
	    "word10\"}}],\"usage\":null}",
	    &p, &c);
	assert_int_equal(p, 15);
	assert_int_equal(c, 22); /* the text's tokens, not the JSON's */
	/* A name costs 1 more than its tokens. */
	estimates("gpt-4o", EP_CHAT,
	    "{\"messages\":[{\"role\":\"user\",\"name\":\"bob\",\"content\":"
	    "\"hi\"}]}",
	    NULL, &p, &c);
	assert_int_equal(p, 3 + 1 + 1 + 1 + 1 + 3);
	/* Completions: a string, strings, token arrays. */
	estimates("gpt-3.5-turbo-instruct", EP_COMPLETIONS,
	    "{\"prompt\":[\"hello world\",[1,2,3]]}", NULL, &p, &c);
	assert_int_equal(p, 2 + 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_splits),
	    cmocka_unit_test(t_merges),
	    cmocka_unit_test(t_bad_files),
	    cmocka_unit_test(t_duplicate_token),
	    cmocka_unit_test(t_models),
	};
	const struct CMUnitTest real[] = {
	    cmocka_unit_test(t_vectors),
	    cmocka_unit_test(t_long_text),
	    cmocka_unit_test(t_long_piece),
	    cmocka_unit_test(t_estimates),
	};
	int rc;

	test_init();
	rc = cmocka_run_group_tests_name("tokenize", tests, NULL, NULL);
	return rc +
	    cmocka_run_group_tests_name("tokenize with OpenAI's ranks", real,
		real_setup, real_teardown);
}
