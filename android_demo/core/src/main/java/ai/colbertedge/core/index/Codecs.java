package ai.colbertedge.core.index;

import ai.colbertedge.core.FormatError;

/**
 * Decoding the vector BLOBs of edge_index/codecs.py (little-endian, row-major, no header):
 *
 * <ul>
 *   <li>encoding 0, fp16: n*dim IEEE half floats, token by token;</li>
 *   <li>encoding 1, residual4: n uint16 centroid codes, n half-float residual scales, then n*dim/2
 *       bytes of 4-bit buckets (dimension 2b in the low nibble of byte b, 2b+1 in the high one);
 *       {@code v = centroid[code] + scale * weights[bucket]}, then {@code v / (|v| + 1e-12)}.</li>
 * </ul>
 */
public final class Codecs {
    public static final int FP16 = 0;
    public static final int RESIDUAL4 = 1;

    private Codecs() {
    }

    /** Bytes one token takes in a BLOB of this encoding. */
    public static int bytesPerToken(int encoding, int dim) {
        return encoding == FP16 ? 2 * dim : 4 + dim / 2;
    }

    /** IEEE 754 binary16 -> float (exact; Float.float16ToFloat needs Java 20). */
    public static float halfToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float value = mantissa * 5.9604645e-8f; // 2^-24
            return sign != 0 ? -value : value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    private static int u16(byte[] blob, int at) {
        return (blob[at] & 0xff) | ((blob[at + 1] & 0xff) << 8);
    }

    /**
     * One document's BLOB -> {@code [nTokens][dim]} float32. {@code centroids} ({@code [K][dim]}) and
     * {@code weights} (16) are needed only for residual4.
     */
    public static float[][] decode(byte[] blob, int nTokens, int encoding, int dim, float[][] centroids, float[] weights) {
        int expected = nTokens * bytesPerToken(encoding, dim);
        if (encoding != FP16 && encoding != RESIDUAL4) {
            throw new FormatError("vector encoding " + encoding + " is unknown (0 fp16, 1 residual4); "
                    + "the index was written by a newer colbert-edge");
        }
        if (blob.length != expected) {
            throw new FormatError("vector BLOB has " + blob.length + " bytes, expected " + expected + " for "
                    + nTokens + " tokens of encoding " + encoding + " at dim " + dim + "; the index is damaged");
        }
        float[][] out = new float[nTokens][dim];
        if (encoding == FP16) {
            for (int t = 0, at = 0; t < nTokens; t++) {
                for (int d = 0; d < dim; d++, at += 2) {
                    out[t][d] = halfToFloat(u16(blob, at));
                }
            }
            return out;
        }
        if (centroids == null || weights == null) {
            throw new FormatError("residual4 BLOB in an index without trained centroids; the index is damaged");
        }
        int scalesAt = 2 * nTokens;
        int packedAt = 4 * nTokens;
        for (int t = 0; t < nTokens; t++) {
            int code = u16(blob, 2 * t);
            if (code >= centroids.length) {
                throw new FormatError("residual4 code " + code + " but only " + centroids.length + " centroids; the index is damaged");
            }
            float scale = halfToFloat(u16(blob, scalesAt + 2 * t));
            float[] centroid = centroids[code];
            float[] v = out[t];
            int row = packedAt + t * (dim / 2);
            for (int b = 0; b < dim / 2; b++) {
                int value = blob[row + b] & 0xff;
                v[2 * b] = weights[value & 15] * scale + centroid[2 * b];
                v[2 * b + 1] = weights[value >>> 4] * scale + centroid[2 * b + 1];
            }
            double norm = 0;
            for (float x : v) {
                norm += (double) x * x;
            }
            float divisor = (float) Math.sqrt(norm) + 1e-12f;
            for (int d = 0; d < dim; d++) {
                v[d] /= divisor;
            }
        }
        return out;
    }

    /** A BLOB of float32 LE values -> float[]. */
    public static float[] float32s(byte[] blob) {
        float[] out = new float[blob.length / 4];
        for (int i = 0; i < out.length; i++) {
            int at = 4 * i;
            out[i] = Float.intBitsToFloat((blob[at] & 0xff) | ((blob[at + 1] & 0xff) << 8)
                    | ((blob[at + 2] & 0xff) << 16) | ((blob[at + 3] & 0xff) << 24));
        }
        return out;
    }

    /** A BLOB of int64 LE values -> long[]. */
    public static long[] int64s(byte[] blob) {
        long[] out = new long[blob.length / 8];
        for (int i = 0; i < out.length; i++) {
            long value = 0;
            for (int b = 7; b >= 0; b--) {
                value = (value << 8) | (blob[8 * i + b] & 0xff);
            }
            out[i] = value;
        }
        return out;
    }
}
