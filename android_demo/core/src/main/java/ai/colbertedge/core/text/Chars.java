package ai.colbertedge.core.text;

/**
 * Character classes as the Python runtime and the Rust {@code tokenizers} crate define them, which
 * differ from {@link Character#isWhitespace} (no NBSP) and from Java's {@code \s} (ASCII only).
 * All methods take a code point.
 */
public final class Chars {
    private Chars() {
    }

    /** Python's {@code str.isspace()} / {@code str.strip()} set (includes U+001C..U+001F and NBSP). */
    public static boolean isPythonSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    /** Unicode White_Space, as Rust's {@code char::is_whitespace}. */
    public static boolean isWhiteSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    /** General category C* (Cc, Cf, Cs, Co, Cn): {@code tokenizers}' {@code is_other}. */
    public static boolean isOther(int c) {
        int type = Character.getType(c);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                || type == Character.PRIVATE_USE || type == Character.UNASSIGNED;
    }

    /** General category M* (Mn, Mc, Me): what StripAccents removes after NFD. */
    public static boolean isMark(int c) {
        int type = Character.getType(c);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK;
    }

    /** ASCII punctuation or general category P*: BertPreTokenizer's punctuation. */
    public static boolean isPunctuation(int c) {
        if (c < 0x80) {
            return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60)
                    || (c >= 0x7b && c <= 0x7e);
        }
        int type = Character.getType(c);
        return type == Character.CONNECTOR_PUNCTUATION || type == Character.DASH_PUNCTUATION
                || type == Character.START_PUNCTUATION || type == Character.END_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION || type == Character.FINAL_QUOTE_PUNCTUATION
                || type == Character.OTHER_PUNCTUATION;
    }

    /** The CJK ranges BertNormalizer surrounds with spaces (handle_chinese_chars). */
    public static boolean isChineseChar(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /** Lone surrogates become U+FFFD (what Python's runtime does before tokenizing). */
    public static String replaceLoneSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean lone = false;
            if (Character.isHighSurrogate(c)) {
                lone = i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1));
                if (!lone) {
                    if (out != null) {
                        out.append(c).append(text.charAt(i + 1));
                    }
                    i++;
                    continue;
                }
            } else if (Character.isLowSurrogate(c)) {
                lone = true;
            }
            if (lone && out == null) {
                out = new StringBuilder(text.length());
                out.append(text, 0, i);
            }
            if (out != null) {
                out.append(lone ? '\uFFFD' : c);
            }
        }
        return out == null ? text : out.toString();
    }

    /** Python's {@code str.strip()} with no argument. */
    public static String pythonStrip(String text) {
        int start = 0;
        int end = text.length();
        while (start < end) {
            int c = text.codePointAt(start);
            if (!isPythonSpace(c)) {
                break;
            }
            start += Character.charCount(c);
        }
        while (end > start) {
            int c = text.codePointBefore(end);
            if (!isPythonSpace(c)) {
                break;
            }
            end -= Character.charCount(c);
        }
        return text.substring(start, end);
    }

    /** Lower-case code point by code point (Rust's per-char {@code to_lowercase}, no final-sigma rule). */
    public static String lowercaseEachChar(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c < 0x80) {
                out.append((char) ((c >= 'A' && c <= 'Z') ? c + 32 : c));
            } else {
                out.append(new String(Character.toChars(c)).toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out.toString();
    }
}
