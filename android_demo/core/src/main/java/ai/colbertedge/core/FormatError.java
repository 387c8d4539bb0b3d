package ai.colbertedge.core;

/**
 * A file (manifest.json, tokenizer.json, an index) is not in the form this reader understands.
 * The message names the file or value, what was expected, and what to do.
 */
public class FormatError extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public FormatError(String message) {
        super(message);
    }

    public FormatError(String message, Throwable cause) {
        super(message, cause);
    }
}
