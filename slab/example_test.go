package slab_test

import (
	"fmt"

	"github.com/orrery-go/orrery/slab"
)

func Example() {
	s, _ := slab.New[string](2)
	alice, _ := s.Insert("alice")
	bob, _ := s.Insert("bob")
	if _, err := s.Insert("carol"); err != nil {
		fmt.Println(err)
	}

	s.Remove(alice)
	carol, _ := s.Insert("carol") // reuses alice's slot under a new key

	_, ok := s.Get(alice)
	fmt.Println("alice found:", ok)
	name, _ := s.Get(carol)
	fmt.Println(*name, s.Len(), s.Contains(bob))
	// Output:
	// slab: full
	// alice found: false
	// carol 2 true
}

func ExampleSlab_Claim() {
	type node struct {
		self slab.Key
		name string
	}
	s, _ := slab.NewUnbounded[node](0)
	c, _ := s.Claim()
	// The key is known before the value exists, so the value can hold it.
	n, _ := c.Fill(node{self: c.Key(), name: "root"})
	fmt.Println(n.name, n.self == c.Key())
	// Output: root true
}
