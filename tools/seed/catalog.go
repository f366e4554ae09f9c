package main

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/apiclient"
)

type leaf struct {
	name, slug string
	// nouns are the product kinds sold in the category, with a base price
	// in cents the variants scatter around.
	nouns []noun
}

type noun struct {
	name  string
	cents int64
}

var tree = []struct {
	name, slug string
	subs       []leaf
}{
	{"Electronics", "electronics", []leaf{
		{"Laptops", "laptops", []noun{{"Laptop", 89900}, {"Ultrabook", 119900}, {"Gaming Laptop", 149900}, {"Chromebook", 32900}}},
		{"Audio", "audio", []noun{{"Headphones", 12900}, {"Earbuds", 7900}, {"Bluetooth Speaker", 5900}, {"Soundbar", 24900}}},
		{"Phones", "phones", []noun{{"Smartphone", 59900}, {"Phone Case", 1900}, {"Charger", 2500}, {"Screen Protector", 999}}},
		{"Cameras", "cameras", []noun{{"Mirrorless Camera", 99900}, {"Action Camera", 29900}, {"Tripod", 4900}, {"Camera Bag", 5900}}},
	}},
	{"Home & Kitchen", "home-kitchen", []leaf{
		{"Cookware", "cookware", []noun{{"Frying Pan", 3900}, {"Saucepan", 4500}, {"Dutch Oven", 8900}, {"Chef Knife", 6900}}},
		{"Appliances", "appliances", []noun{{"Coffee Maker", 9900}, {"Blender", 7900}, {"Toaster", 3900}, {"Electric Kettle", 4900}}},
		{"Lighting", "lighting", []noun{{"Desk Lamp", 3900}, {"Floor Lamp", 8900}, {"LED Bulb", 899}, {"String Lights", 1999}}},
	}},
	{"Sports & Outdoors", "sports-outdoors", []leaf{
		{"Running", "running", []noun{{"Running Shoes", 11900}, {"Running Shorts", 3500}, {"Running Jacket", 8900}, {"Water Bottle", 1500}}},
		{"Camping", "camping", []noun{{"Tent", 19900}, {"Sleeping Bag", 8900}, {"Camping Stove", 5900}, {"Headlamp", 2900}}},
		{"Fitness", "fitness", []noun{{"Yoga Mat", 2900}, {"Dumbbell Set", 9900}, {"Resistance Bands", 1900}, {"Jump Rope", 1200}}},
	}},
	{"Books", "books", []leaf{
		{"Fiction", "fiction", []noun{{"Novel", 1799}, {"Short Stories", 1499}, {"Thriller", 1599}}},
		{"Cooking", "cookbooks", []noun{{"Cookbook", 2499}, {"Baking Book", 2299}}},
	}},
}

var (
	brands     = []string{"Aurora", "Northwind", "Kestrel", "Halcyon", "Summit", "Lumen", "Vanta", "Orbit", "Cedar", "Pioneer"}
	adjectives = []string{"Classic", "Pro", "Compact", "Ultra", "Essential", "Deluxe", "Lite", "Max", "Eco", "Signature"}
	colours    = []string{"Black", "White", "Graphite", "Navy", "Forest Green", "Sand"}
	qualities  = []string{"durable", "lightweight", "award-winning", "everyday", "premium", "well-reviewed"}
)

// catalogProducts generates the products deterministically (the same skus
// every run), brand by adjective by noun, spread over the leaf categories.
func catalogProducts(categories map[string]uuid.UUID) []apiclient.ProductInput {
	var out []apiclient.ProductInput
	n := 0
	for _, top := range tree {
		for _, l := range top.subs {
			id := categories[l.slug]
			for _, nn := range l.nouns {
				for bi, brand := range brands {
					for ai, adj := range adjectives[:3+(bi%3)*3] {
						n++
						colour := colours[(bi+ai)%len(colours)]
						// Prices scatter ±30% around the noun's base, ending in 99.
						cents := nn.cents*int64(70+(n*37)%61)/100/100*100 + 99
						out = append(out, apiclient.ProductInput{
							SKU:         fmt.Sprintf("%s-%s-%s-%s", strings.ToUpper(l.slug[:3]), strings.ToUpper(brand[:3]), strings.ToUpper(adj[:3]), skuPart(nn.name)),
							Name:        fmt.Sprintf("%s %s %s", brand, adj, nn.name),
							Description: new(fmt.Sprintf("A %s %s from %s in %s. %s.", qualities[n%len(qualities)], strings.ToLower(nn.name), brand, colour, l.name)),
							PriceCents:  cents,
							Currency:    new("USD"),
							CategoryID:  &id,
							// Some products start sold out, so in_stock filters something.
							InitialStock:      (n * 13) % 120,
							LowStockThreshold: new(5),
						})
					}
				}
			}
		}
	}
	return out
}

func skuPart(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, " ", ""))
}
