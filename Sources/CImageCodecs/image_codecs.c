#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Largest image accepted: keeps a hostile header from asking for gigabytes. */
#define SC_MAX_PIXELS (1u << 28)

struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    int truncated;
    char message[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr cinfo) {
    struct jpeg_failure *f = (struct jpeg_failure *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->message);
    longjmp(f->jump, 1);
}

/* libjpeg's warnings go unprinted, but data cut short is remembered: a
 * truncated file decodes "successfully" with the missing rows grey, and
 * that must be an error, not a silently wrong image. */
static void jpeg_quiet(j_common_ptr cinfo, int level) {
    struct jpeg_failure *f = (struct jpeg_failure *)cinfo->err;
    int code = cinfo->err->msg_code;
    if (level < 0 && !f->truncated && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER)) {
        f->truncated = 1;
        (*cinfo->err->format_message)(cinfo, f->message);
    }
}

static int decode_jpeg(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                       int *source_channels, char *error, size_t error_size) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_failure failure;
    unsigned char *volatile out = NULL;
    unsigned char *volatile row = NULL;
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = jpeg_fail;
    failure.mgr.emit_message = jpeg_quiet;
    failure.truncated = 0;
    if (setjmp(failure.jump)) {
        snprintf(error, error_size, "corrupt or unsupported JPEG: %s", failure.message);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *source_channels = cinfo.num_components;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : (cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB);
    jpeg_start_decompress(&cinfo);
    unsigned w = cinfo.output_width, h = cinfo.output_height;
    if ((unsigned long long)w * h > SC_MAX_PIXELS) {
        snprintf(error, error_size, "JPEG of %ux%u pixels is larger than SwiftCaffe accepts", w, h);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int n = cinfo.output_components;
    out = malloc((size_t)w * h * 3);
    row = malloc((size_t)w * n);
    if (!out || !row) {
        snprintf(error, error_size, "out of memory decoding a %ux%u JPEG", w, h);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        return -1;
    }
    /* Adobe writes CMYK inverted. */
    int inverted = cmyk && cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < h) {
        unsigned y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        unsigned char *dst = out + (size_t)y * w * 3;
        for (unsigned x = 0; x < w; x++) {
            if (n == 1) {
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
            } else if (n == 4) {
                int c = row[4 * x], m = row[4 * x + 1], ye = row[4 * x + 2], k = row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; ye = 255 - ye; k = 255 - k; }
                dst[3 * x] = (unsigned char)(c * k / 255);
                dst[3 * x + 1] = (unsigned char)(m * k / 255);
                dst[3 * x + 2] = (unsigned char)(ye * k / 255);
            } else {
                memcpy(dst + 3 * x, row + 3 * x, 3);
            }
        }
    }
    if (failure.truncated) {
        snprintf(error, error_size, "truncated or corrupt JPEG (%s): the image data ends before its last row", failure.message);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        return -1;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *rgb = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

struct png_source {
    const unsigned char *data;
    size_t size, at;
};

static void png_read_memory(png_structp png, png_bytep out, png_size_t n) {
    struct png_source *s = png_get_io_ptr(png);
    if (s->at + n > s->size) png_error(png, "the file ends early (truncated)");
    memcpy(out, s->data + s->at, n);
    s->at += n;
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void png_fail(png_structp png, png_const_charp msg) {
    char *message = png_get_error_ptr(png);
    snprintf(message, 256, "%s", msg);
    png_longjmp(png, 1);
}

static int decode_png(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                      int *source_channels, char *error, size_t error_size) {
    char png_message[256] = "";
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, png_message, png_fail, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile out = NULL;
    unsigned char *volatile row = NULL;
    if (!png || !info) {
        snprintf(error, error_size, "out of memory starting libpng");
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        snprintf(error, error_size, "corrupt or unsupported PNG: %s", png_message);
        png_destroy_read_struct(&png, &info, NULL);
        free(out);
        free(row);
        return -1;
    }
    struct png_source src = {data, size, 0};
    png_set_read_fn(png, &src, png_read_memory);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    *source_channels = png_get_channels(png, info);
    if ((unsigned long long)w * h > SC_MAX_PIXELS) {
        snprintf(error, error_size, "PNG of %ux%u pixels is larger than SwiftCaffe accepts", (unsigned)w, (unsigned)h);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    if (depth == 16) png_set_strip_16(png); /* >> 8, as OpenCV's IMREAD_COLOR */
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8) {
        snprintf(error, error_size, "PNG colour type %d at %d bits could not be converted to 8-bit RGB", color, depth);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    out = malloc((size_t)w * h * 3);
    if (!out) {
        snprintf(error, error_size, "out of memory decoding a %ux%u PNG", (unsigned)w, (unsigned)h);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    row = (unsigned char *)rows;
    if (!rows) {
        snprintf(error, error_size, "out of memory decoding a PNG");
        png_destroy_read_struct(&png, &info, NULL);
        free(out);
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = out + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *rgb = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

int sc_decode_image(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                    int *source_channels, char *error, size_t error_size) {
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, size, rgb, width, height, source_channels, error, error_size);
    if (size >= 8 && png_sig_cmp(data, 0, 8) == 0)
        return decode_png(data, size, rgb, width, height, source_channels, error, error_size);
    snprintf(error, error_size, "not a JPEG or PNG image (SwiftCaffe decodes those two)");
    return -1;
}

int sc_encode_png(const unsigned char *rgb, int width, int height, unsigned char **png, size_t *size, char *error,
                  size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&image, NULL, &n, 0, rgb, 0, NULL) || n == 0) {
        snprintf(error, error_size, "libpng could not size the PNG: %s", image.message);
        return -1;
    }
    unsigned char *out = malloc(n);
    if (!out) {
        snprintf(error, error_size, "out of memory for a %zu-byte PNG", (size_t)n);
        return -1;
    }
    if (!png_image_write_to_memory(&image, out, &n, 0, rgb, 0, NULL)) {
        snprintf(error, error_size, "libpng could not write the PNG: %s", image.message);
        free(out);
        return -1;
    }
    *png = out;
    *size = n;
    return 0;
}
