package ai.colbertedge.core;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A bundle's manifest.json (format colbert-edge-bundle, format_version 1; runtime/manifest.py):
 * the only thing the on-device code trusts about the model. {@link #read} refuses a folder without
 * a manifest, another format or version, and (when asked) a file whose sha256 differs.
 */
public final class Manifest {
    public static final String FORMAT = "colbert-edge-bundle";
    public static final int FORMAT_VERSION = 1;
    public static final String MODEL_FILE = "model.onnx";
    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String MANIFEST_FILE = "manifest.json";

    public final String architecture;
    public final boolean causal;
    public final int dim;
    public final List<String> onnxInputs;
    public final String onnxOutput;
    public final String precision;
    public final TokenContract contract;
    public final String fingerprint;
    private final Map<String, Object> files;

    private Manifest(Map<String, Object> data, String where) {
        Object format = data.get("format");
        if (!FORMAT.equals(format)) {
            throw new FormatError(where + " is not a colbert-edge bundle manifest (format " + format + ")");
        }
        Object version = data.get("format_version");
        if (!(version instanceof Long) || (Long) version != FORMAT_VERSION) {
            throw new FormatError(where + " has format_version " + version + "; this reader reads version "
                    + FORMAT_VERSION + ". Re-export the bundle or update the app.");
        }
        for (String key : new String[] {"architecture", "causal", "dim", "onnx_inputs", "onnx_output",
                "precision", "contract", "files", "fingerprint"}) {
            if (!data.containsKey(key)) {
                throw new FormatError(where + " lacks '" + key + "'; re-export the bundle");
            }
        }
        architecture = Json.string(data.get("architecture"), where + " architecture");
        causal = Json.bool(data.get("causal"), where + " causal");
        dim = (int) Json.integer(data.get("dim"), where + " dim");
        List<String> inputs = new ArrayList<>();
        for (Object name : Json.array(data.get("onnx_inputs"), where + " onnx_inputs")) {
            inputs.add(Json.string(name, where + " onnx_inputs[]"));
        }
        onnxInputs = java.util.Collections.unmodifiableList(inputs);
        onnxOutput = Json.string(data.get("onnx_output"), where + " onnx_output");
        precision = Json.string(data.get("precision"), where + " precision");
        contract = TokenContract.fromJson(Json.object(data.get("contract"), where + " contract"));
        fingerprint = Json.string(data.get("fingerprint"), where + " fingerprint");
        files = Json.object(data.get("files"), where + " files");
    }

    /** Parse manifest JSON text ({@code where} names its origin in error messages). */
    public static Manifest parse(String json, String where) {
        return new Manifest(Json.object(Json.parse(json), where), where);
    }

    /** Read {@code bundle/manifest.json}; with {@code checkHashes} also verify model.onnx and tokenizer.json. */
    public static Manifest read(File bundle, boolean checkHashes) throws IOException {
        if (!bundle.isDirectory()) {
            throw new FormatError("bundle " + bundle + " is not a folder; copy the folder written by 'colbert-edge export'");
        }
        File path = new File(bundle, MANIFEST_FILE);
        if (!path.isFile()) {
            throw new FormatError("bundle " + bundle + " has no " + MANIFEST_FILE + "; copy the whole bundle folder");
        }
        Manifest manifest = parse(readText(path), path.toString());
        for (String name : new String[] {MODEL_FILE, TOKENIZER_FILE}) {
            if (!manifest.files.containsKey(name)) {
                throw new FormatError(path + " lists no hash for " + name + "; re-export the bundle");
            }
        }
        // Every listed file (model.onnx.data holds the graph's weights) must be present and intact.
        for (String name : manifest.files.keySet()) {
            if (name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                throw new FormatError(path + " lists " + name + ", which is not a plain file name in the bundle");
            }
            File file = new File(bundle, name);
            if (!file.isFile()) {
                throw new FormatError("bundle " + bundle + " is missing " + name + "; copy the whole bundle folder");
            }
            if (checkHashes) {
                String expected = String.valueOf(Json.object(manifest.files.get(name), path + " files." + name).get("sha256"));
                String actual = sha256(file);
                if (!actual.equals(expected)) {
                    throw new FormatError(file + " does not match its manifest (sha256 " + actual.substring(0, 12)
                            + "…, expected " + expected + "): copy the bundle again");
                }
            }
        }
        return manifest;
    }

    /** A UTF-8 text file's content. */
    public static String readText(File file) throws IOException {
        try (InputStream in = new FileInputStream(file)) {
            return new String(readAll(in), StandardCharsets.UTF_8);
        }
    }

    static byte[] readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = in.read(buffer)) > 0) {
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    /** Hex sha256 of a file. */
    public static String sha256(File file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException exc) {
            throw new IllegalStateException("SHA-256 is not available", exc);
        }
        try (InputStream in = new FileInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : digest.digest()) {
            hex.append(String.format("%02x", b & 0xff));
        }
        return hex.toString();
    }
}
