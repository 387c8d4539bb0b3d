package ai.colbertedge.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader (RFC 8259 syntax, lenient only about leading zeros) with no dependencies, enough for manifest.json,
 * tokenizer.json, the index's meta values and the golden files.
 *
 * <p>Values map to: object -> {@code LinkedHashMap<String, Object>} (key order kept), array ->
 * {@code ArrayList<Object>}, string -> {@code String}, number -> {@code Long} when it is an integer
 * literal that fits, else {@code Double}, true/false -> {@code Boolean}, null -> {@code null}.
 * Malformed input raises {@link FormatError} naming the offset.
 */
public final class Json {
    private final String text;
    private int pos;

    private Json(String text) {
        this.text = text;
    }

    /** Parse one JSON document (surrounding whitespace allowed). */
    public static Object parse(String text) {
        Json reader = new Json(text);
        reader.skipSpace();
        Object value = reader.value();
        reader.skipSpace();
        if (reader.pos != text.length()) {
            throw reader.error("unexpected text after the JSON value");
        }
        return value;
    }

    /** The object {@code value} as a map, or a FormatError naming {@code what}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> object(Object value, String what) {
        if (!(value instanceof Map)) {
            throw new FormatError(what + " is not a JSON object (got " + describe(value) + ")");
        }
        return (Map<String, Object>) value;
    }

    /** The array {@code value} as a list, or a FormatError naming {@code what}. */
    @SuppressWarnings("unchecked")
    public static List<Object> array(Object value, String what) {
        if (!(value instanceof List)) {
            throw new FormatError(what + " is not a JSON array (got " + describe(value) + ")");
        }
        return (List<Object>) value;
    }

    /** The number {@code value} as a long (integers only), or a FormatError naming {@code what}. */
    public static long integer(Object value, String what) {
        if (value instanceof Long) {
            return (Long) value;
        }
        if (value instanceof Double && ((Double) value) == Math.rint((Double) value)) {
            return (long) (double) (Double) value;
        }
        throw new FormatError(what + " is not an integer (got " + describe(value) + ")");
    }

    /** The number {@code value} as a double, or a FormatError naming {@code what}. */
    public static double number(Object value, String what) {
        if (value instanceof Number) {
            return ((Number) value).doubleValue();
        }
        throw new FormatError(what + " is not a number (got " + describe(value) + ")");
    }

    /** The string {@code value}, or a FormatError naming {@code what}. */
    public static String string(Object value, String what) {
        if (!(value instanceof String)) {
            throw new FormatError(what + " is not a string (got " + describe(value) + ")");
        }
        return (String) value;
    }

    /** The boolean {@code value}, or a FormatError naming {@code what}. */
    public static boolean bool(Object value, String what) {
        if (!(value instanceof Boolean)) {
            throw new FormatError(what + " is not true/false (got " + describe(value) + ")");
        }
        return (Boolean) value;
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        String shown = String.valueOf(value);
        return value.getClass().getSimpleName() + " " + (shown.length() > 60 ? shown.substring(0, 60) + "…" : shown);
    }

    private FormatError error(String message) {
        return new FormatError("invalid JSON at offset " + pos + ": " + message);
    }

    private void skipSpace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private Object value() {
        if (pos >= text.length()) {
            throw error("unexpected end of input");
        }
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return objectValue();
            case '[':
                return arrayValue();
            case '"':
                return stringValue();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return numberValue();
                }
                throw error("unexpected character '" + c + "'");
        }
    }

    private Object literal(String word, Object result) {
        if (!text.startsWith(word, pos)) {
            throw error("expected " + word);
        }
        pos += word.length();
        return result;
    }

    private Map<String, Object> objectValue() {
        Map<String, Object> out = new LinkedHashMap<>();
        pos++;
        skipSpace();
        if (pos < text.length() && text.charAt(pos) == '}') {
            pos++;
            return out;
        }
        while (true) {
            skipSpace();
            if (pos >= text.length() || text.charAt(pos) != '"') {
                throw error("expected a string key");
            }
            String key = stringValue();
            skipSpace();
            expect(':');
            skipSpace();
            out.put(key, value());
            skipSpace();
            if (pos < text.length() && text.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect('}');
            return out;
        }
    }

    private List<Object> arrayValue() {
        List<Object> out = new ArrayList<>();
        pos++;
        skipSpace();
        if (pos < text.length() && text.charAt(pos) == ']') {
            pos++;
            return out;
        }
        while (true) {
            skipSpace();
            out.add(value());
            skipSpace();
            if (pos < text.length() && text.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect(']');
            return out;
        }
    }

    private void expect(char c) {
        if (pos >= text.length() || text.charAt(pos) != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private String stringValue() {
        pos++; // opening quote
        StringBuilder out = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                throw error("control character in string");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (pos >= text.length()) {
                throw error("unterminated escape");
            }
            char e = text.charAt(pos++);
            switch (e) {
                case '"': out.append('"'); break;
                case '\\': out.append('\\'); break;
                case '/': out.append('/'); break;
                case 'b': out.append('\b'); break;
                case 'f': out.append('\f'); break;
                case 'n': out.append('\n'); break;
                case 'r': out.append('\r'); break;
                case 't': out.append('\t'); break;
                case 'u':
                    if (pos + 4 > text.length()) {
                        throw error("short \\u escape");
                    }
                    try {
                        out.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException exc) {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                    break;
                default:
                    throw error("unknown escape \\" + e);
            }
        }
    }

    private Object numberValue() {
        int start = pos;
        boolean integral = true;
        if (text.charAt(pos) == '-') {
            pos++;
        }
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c >= '0' && c <= '9') {
                pos++;
            } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                integral = false;
                pos++;
            } else {
                break;
            }
        }
        String literal = text.substring(start, pos);
        try {
            if (integral) {
                try {
                    return Long.parseLong(literal);
                } catch (NumberFormatException tooBig) {
                    return Double.parseDouble(literal);
                }
            }
            return Double.parseDouble(literal);
        } catch (NumberFormatException exc) {
            pos = start;
            throw error("bad number " + literal);
        }
    }
}
