// Package invoicepdf renders an invoice as a one-page PDF.
package invoicepdf

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

// Render returns inv as a PDF document.
func Render(inv payments.Invoice) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Invoice "+inv.DisplayNumber(), false)
	pdf.SetAuthor("daprshop", false)
	pdf.AddPage()
	// The core fonts are Latin-1: product names in other scripts are
	// approximated rather than dropped.
	tr := pdf.UnicodeTranslatorFromDescriptor("")

	pdf.SetFont("Helvetica", "B", 18)
	pdf.CellFormat(0, 10, "Invoice "+inv.DisplayNumber(), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, "Issued "+inv.IssuedAt.UTC().Format("2006-01-02"), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, "Order "+inv.OrderID.String(), "", 1, "L", false, 0, "")
	pdf.Ln(6)

	widths := []float64{95, 20, 35, 40}
	pdf.SetFont("Helvetica", "B", 10)
	for i, h := range []string{"Item", "Qty", "Unit price", "Amount"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(widths[i], 8, h, "B", 0, align, false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range inv.Lines {
		name := l.Name
		if name == "" {
			name = l.ProductID.String()
		}
		pdf.CellFormat(widths[0], 7, tr(name), "", 0, "L", false, 0, "")
		pdf.CellFormat(widths[1], 7, fmt.Sprint(l.Quantity), "", 0, "R", false, 0, "")
		pdf.CellFormat(widths[2], 7, money(l.UnitPriceCents, inv.Currency), "", 0, "R", false, 0, "")
		pdf.CellFormat(widths[3], 7, money(l.TotalCents, inv.Currency), "", 1, "R", false, 0, "")
	}
	pdf.Ln(4)
	for _, row := range []struct {
		label string
		cents int64
	}{{"Subtotal", inv.SubtotalCents}, {"Tax", inv.TaxCents}, {"Total", inv.TotalCents}} {
		if row.label == "Total" {
			pdf.SetFont("Helvetica", "B", 11)
		}
		pdf.CellFormat(widths[0]+widths[1]+widths[2], 7, row.label, "", 0, "R", false, 0, "")
		pdf.CellFormat(widths[3], 7, money(row.cents, inv.Currency), "", 1, "R", false, 0, "")
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", inv.ID, err)
	}
	return buf.Bytes(), nil
}

func money(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, cents/100, cents%100, currency)
}
