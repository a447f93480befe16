/* JPEG and PNG decoding for swiftcaffe classify, and PNG encoding for detect. libjpeg reports errors by
 * longjmp, which Swift cannot catch, so decoding lives here in C and
 * returns an error message instead. */
#ifndef IMAGE_CODECS_H
#define IMAGE_CODECS_H
#include <stddef.h>

/* Decodes a JPEG or PNG held in memory into 8-bit RGB (height × width × 3,
 * malloc'd, freed with free()). Grey images are expanded to RGB, alpha is
 * dropped (as OpenCV's IMREAD_COLOR does), 16-bit PNG samples are scaled
 * to 8 bits (>> 8), palette PNGs are expanded, CMYK/YCCK JPEGs (Adobe,
 * inverted) are converted. Returns 0, or -1 with a message in `error`. */
int sc_decode_image(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                    int *source_channels, char *error, size_t error_size);

/* Encodes 8-bit RGB (height × width × 3) as a PNG in memory (malloc'd,
 * freed with free()). Returns 0, or -1 with a message in `error`. */
int sc_encode_png(const unsigned char *rgb, int width, int height, unsigned char **png, size_t *size, char *error,
                  size_t error_size);

#endif
