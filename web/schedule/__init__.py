"""What is going to air: upcoming approved airings."""
