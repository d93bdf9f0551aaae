#include "train/plot.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct series {
	double *x, *y;
	size_t n, cap;
} series;

static int push(series *s, double x, double y)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *nx = realloc(s->x, cap * sizeof *nx);
		if (!nx)
			return -1;
		s->x = nx;
		double *ny = realloc(s->y, cap * sizeof *ny);
		if (!ny)
			return -1;
		s->y = ny;
		s->cap = cap;
	}
	s->x[s->n] = x;
	s->y[s->n] = y;
	s->n++;
	return 0;
}

/* A resumed run appends to the log: a step not after the previous one
 * starts over from there (what was logged after the resume point). */
static void truncate_to(series *s, double x)
{
	while (s->n && s->x[s->n - 1] >= x)
		s->n--;
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks. */
static double tick_step(double span, int n)
{
	double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

enum { W = 720, HGT = 420, LEFT = 70, RIGHT = 20, TOP = 30, BOTTOM = 55 };

static void polyline(FILE *f, const series *s, double x0, double x1, double y0, double y1,
		     const char *color, bool dots)
{
	if (!s->n)
		return;
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
	for (size_t i = 0; i < s->n; i++) {
		double px = LEFT + (s->x[i] - x0) / (x1 - x0) * (W - LEFT - RIGHT);
		double py = TOP + (1 - (s->y[i] - y0) / (y1 - y0)) * (HGT - TOP - BOTTOM);
		fprintf(f, "%.1f,%.1f ", px, py);
	}
	fprintf(f, "\"/>\n");
	if (dots)
		for (size_t i = 0; i < s->n; i++) {
			double px = LEFT + (s->x[i] - x0) / (x1 - x0) * (W - LEFT - RIGHT);
			double py = TOP + (1 - (s->y[i] - y0) / (y1 - y0)) * (HGT - TOP - BOTTOM);
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px, py, color);
		}
}

static void draw(FILE *f, const series *tr, const series *va)
{
	double x0 = 0, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
	const series *all[2] = { tr, va };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < all[k]->n; i++) {
			x1 = fmax(x1, all[k]->x[i]);
			y0 = fmin(y0, all[k]->y[i]);
			y1 = fmax(y1, all[k]->y[i]);
		}
	if (!(y0 < y1)) {
		y0 = isfinite(y0) ? y0 - 1 : 0;
		y1 = isfinite(y1) ? y1 + 1 : 1;
	}
	double pad = 0.05 * (y1 - y0);
	y0 -= pad;
	y1 += pad;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "font-family=\"sans-serif\" font-size=\"12\">\n", W, HGT);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	double xs = tick_step(x1 - x0, 8), ys = tick_step(y1 - y0, 6);
	for (double x = 0; x <= x1 + 1e-9; x += xs) {
		double px = LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", px, TOP,
			px, HGT - BOTTOM);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px,
			HGT - BOTTOM + 16, x);
	}
	for (double y = ceil(y0 / ys) * ys; y <= y1; y += ys) {
		double py = TOP + (1 - (y - y0) / (y1 - y0)) * (HGT - TOP - BOTTOM);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT, py,
			W - RIGHT, py);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", LEFT - 6, py + 4, y);
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n",
		LEFT, TOP, W - LEFT - RIGHT, HGT - TOP - BOTTOM);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n", (LEFT + W - RIGHT) / 2,
		HGT - 15);
	fprintf(f, "<text transform=\"translate(18,%d) rotate(-90)\" text-anchor=\"middle\">"
		   "loss (nats per token)</text>\n", (TOP + HGT - BOTTOM) / 2);
	polyline(f, tr, x0, x1, y0, y1, "#1f77b4", false);
	polyline(f, va, x0, x1, y0, y1, "#d62728", true);
	fprintf(f, "<line x1=\"%d\" y1=\"16\" x2=\"%d\" y2=\"16\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
		   "<text x=\"%d\" y=\"20\">train</text>\n", LEFT, LEFT + 20, LEFT + 25);
	fprintf(f, "<line x1=\"%d\" y1=\"16\" x2=\"%d\" y2=\"16\" stroke=\"#d62728\" stroke-width=\"2\"/>"
		   "<text x=\"%d\" y=\"20\">validation</text>\n", LEFT + 80, LEFT + 100, LEFT + 105);
	fprintf(f, "</svg>\n");
}

int seqc_plot_loss_svg(const char *log_path, const char *svg_path)
{
	FILE *in = fopen(log_path, "r");
	if (!in)
		return seqc_error(SEQC_EIO, "%s: cannot open: %s", log_path, strerror(errno));
	series tr = { 0 }, va = { 0 };
	char line[4096];
	int rc = 0;
	while (fgets(line, sizeof line, in)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *ev = json_string_value(json_object_get(o, "event"));
		json_t *step = json_object_get(o, "step");
		if (ev && json_is_integer(step)) {
			double x = (double)json_integer_value(step);
			bool is_train = !strcmp(ev, "train"), is_eval = !strcmp(ev, "eval");
			json_t *y = json_object_get(o, is_train ? "loss" : "val_loss");
			if ((is_train || is_eval) && json_is_number(y) && isfinite(json_number_value(y))) {
				series *s = is_train ? &tr : &va;
				truncate_to(s, x);
				if (push(s, x, json_number_value(y)) < 0)
					rc = seqc_error(SEQC_ENOMEM, "plot: out of memory");
			}
		}
		json_decref(o);
	}
	fclose(in);
	if (rc == 0) {
		size_t n = strlen(svg_path) + 8;
		char *tmp = malloc(n);
		FILE *f = tmp ? (snprintf(tmp, n, "%s.tmp", svg_path), fopen(tmp, "w")) : NULL;
		if (!f) {
			rc = seqc_error(SEQC_EIO, "%s: cannot write: %s", svg_path, strerror(errno));
		} else {
			draw(f, &tr, &va);
			if (fclose(f) != 0 || rename(tmp, svg_path) != 0) {
				rc = seqc_error(SEQC_EIO, "%s: cannot write: %s", svg_path, strerror(errno));
				unlink(tmp);
			}
		}
		free(tmp);
	}
	free(tr.x);
	free(tr.y);
	free(va.x);
	free(va.y);
	return rc;
}
